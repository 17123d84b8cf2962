/** Live notifications: new uses of the creator's works arrive over SSE once they are in a checkpoint. */
import { h, short } from '../dom.js';
import type { TrustedLog } from '../trust.js';
import { type Use, claimsOf } from './check.js';
import { bundleButton, verdictBadge, verifiedMark } from './marks.js';

export class NotificationsView {
  private source: EventSource | undefined;
  private count = 0;

  constructor(
    private readonly list: HTMLElement,
    private readonly state: HTMLElement,
    private readonly badge: HTMLElement,
    private readonly trust: TrustedLog,
  ) {}

  follow(creator: string): void {
    this.source?.close();
    this.source = new EventSource(`/events?creator=${encodeURIComponent(creator)}`);
    this.state.textContent = `Following new uses of works by ${short(creator)} while this page is open.`;
    this.source.addEventListener('use', (e) => this.add(JSON.parse((e as MessageEvent<string>).data) as Use));
    this.source.addEventListener('error', () => {
      this.state.textContent = 'Connection lost; reconnecting (no use will be missed).';
    });
    this.source.addEventListener('open', () => {
      this.state.textContent = `Following new uses of works by ${short(creator)} while this page is open.`;
    });
  }

  private add(use: Use): void {
    this.count++;
    this.badge.hidden = false;
    this.badge.textContent = String(this.count);
    const model = `${use.model.name}@${use.model.version}`;
    this.list.prepend(
      h('li', { class: 'card' }, h('strong', {}, `Declared use by ${model}`), ' — ', verdictBadge(use.verdict), ' ', verifiedMark(this.trust, use.bundle, claimsOf(use)), ' ', bundleButton(use.bundle, `proof-${use.useIndex}-${use.position}.json`), h('p', { class: 'ids' }, `builder ${short(use.model.builder)} · log entry ${use.useIndex}, item ${use.position}`)),
    );
    if ('Notification' in window && Notification.permission === 'granted') new Notification('Your work was declared for AI training', { body: `${model}: ${use.verdict.verdict}` });
    else if ('Notification' in window && Notification.permission === 'default') void Notification.requestPermission();
  }
}

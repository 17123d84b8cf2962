/**
 * Live notifications: new uses of the creator's works arrive over SSE once they are in a
 * checkpoint. Each is shown as its proof shows it, and only if the proven item is one of the
 * creator's works (a grant of theirs names it, or it is a near copy of one); anything else is
 * listed as a server fault and not counted. A `claim` event (another key's grant names one of the
 * creator's works) is shown as the server says it: the page does not prove it.
 */
import { CreatorWorks } from '../../src/client/index.js';
import { api } from '../api.js';
import { h, short } from '../dom.js';
import type { TrustedLog } from '../trust.js';
import { type Use, matchOf, provenModel } from './check.js';
import { bundleButton, useMark, verdictBadge } from './marks.js';

export class NotificationsView {
  private source: EventSource | undefined;
  private count = 0;
  private owner: CreatorWorks | undefined;

  constructor(
    private readonly list: HTMLElement,
    private readonly state: HTMLElement,
    private readonly badge: HTMLElement,
    private readonly trust: TrustedLog,
  ) {}

  follow(creator: string): void {
    this.source?.close();
    this.owner = new CreatorWorks(creator, (path) => api.json(path));
    this.source = new EventSource(`/events?creator=${encodeURIComponent(creator)}`);
    this.state.textContent = `Following new uses of works by ${short(creator)} while this page is open.`;
    this.source.addEventListener('use', (e) => this.add(parse((e as MessageEvent<string>).data), (e as MessageEvent<string>).lastEventId));
    this.source.addEventListener('claim', (e) => this.addClaim(parseClaim((e as MessageEvent<string>).data)));
    this.source.addEventListener('error', () => {
      this.state.textContent = 'Connection lost; reconnecting (no use will be missed).';
    });
    this.source.addEventListener('open', () => {
      this.state.textContent = `Following new uses of works by ${short(creator)} while this page is open.`;
    });
  }

  private addClaim(claim: ClaimNotice | null): void {
    if (!claim) return;
    const text = `${claim.work} is also claimed by ${short(claim.claimant)} in grant ${claim.grantIndex} — a use of it may be judged disputed (server says; not proven here)`;
    this.list.prepend(h('li', { class: 'card fault' }, h('strong', { class: 'claim' }, 'Another key claims your work'), h('p', { class: 'ids' }, text)));
  }

  private add(use: Use | null, eventId: string): void {
    const check = this.trust.verifyUse(use, this.owner!, eventId);
    const title = h('strong', { class: 'claim' }, 'A reported use, being checked');
    const details = h('p', { class: 'ids' });
    const item = h('li', { class: 'card' }, title, ' — ', use?.verdict ? h('span', {}, 'server says ', verdictBadge(use.verdict)) : null, ' ', useMark(check), ' ', use ? bundleButton(use.bundle, `proof-${use.useIndex}-${use.position}.json`) : null, details);
    this.list.prepend(item);
    void check.then((o) => {
      if (!o.ok) {
        item.className = 'card fault';
        title.textContent = 'Server fault: not a proven use of your work';
        return;
      }
      title.className = '';
      title.textContent = `Declared use by ${provenModel(o)}`;
      details.textContent = `${o.use.work} · ${matchOf(o.use)} · builder ${short(o.use.model.builder)} · log entry ${o.use.index}, item ${o.use.position}`;
      this.count++;
      this.badge.hidden = false;
      this.badge.textContent = String(this.count);
      if ('Notification' in window && Notification.permission === 'granted') new Notification('Your work was declared for AI training', { body: `${o.use.model.name}@${o.use.model.version} (server says: ${o.claims.verdict?.verdict ?? 'no verdict'})` });
      else if ('Notification' in window && Notification.permission === 'default') void Notification.requestPermission();
    });
  }
}

/** spec/api.md, Notifications: `event: claim`. */
interface ClaimNotice {
  grantIndex: number;
  work: string;
  claimant: string;
}

function parseClaim(data: string): ClaimNotice | null {
  try {
    const c = JSON.parse(data) as Partial<ClaimNotice>;
    return typeof c.grantIndex === 'number' && typeof c.work === 'string' && typeof c.claimant === 'string' ? (c as ClaimNotice) : null;
  } catch {
    return null;
  }
}

function parse(data: string): Use | null {
  try {
    return JSON.parse(data) as Use;
  } catch {
    return null;
  }
}

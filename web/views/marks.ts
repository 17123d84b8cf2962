/** The "verified" mark: pending until the browser has checked the bundle, then verified or failed. */
import type { Outcome, TrustedLog, UseClaims } from '../trust.js';
import { download, h } from '../dom.js';

const BAD_VERDICTS = new Set(['no-consent', 'revoked', 'expired', 'use-not-allowed', 'commercial-not-allowed', 'licensee-mismatch', 'wrong-author', 'disputed', 'retention-overdue', 'unconsented-near-copy']);

export function verdictBadge(verdict: { verdict: string; reason?: string; distance?: number }): HTMLElement {
  const near = verdict.distance !== undefined ? ` (near copy, distance ${verdict.distance})` : '';
  return h('span', { class: `verdict ${verdict.verdict === 'consented' ? 'consented' : BAD_VERDICTS.has(verdict.verdict) ? 'bad' : ''}`, title: verdict.reason ?? '' }, `${verdict.verdict}${near}`);
}

/** A mark that checks `bundle` now and shows the outcome; failures are shown, never hidden. */
export function verifiedMark(trust: TrustedLog, bundle: unknown, claims: UseClaims = {}): HTMLElement {
  return markOf(
    trust.verifyBundle(bundle, claims),
    'checkpoint signature, log inclusion, record signature and manifest inclusion checked in this browser; the work, model and builder shown are those of the proven record',
  );
}

/** The mark for a consent grant: its inclusion, signature, author and work checked in this browser. */
export function consentMark(trust: TrustedLog, index: number, claims: { work: string; author: string }): HTMLElement {
  return markOf(trust.verifyConsent(index, claims), 'checkpoint signature, log inclusion, record signature, author and work checked in this browser (the status is the server’s reading)');
}

function markOf(check: Promise<Outcome>, what: string): HTMLElement {
  const mark = h('span', { class: 'mark pending', role: 'status' }, 'checking…');
  void check.then((outcome) => {
    if (outcome.ok) {
      mark.className = 'mark verified';
      mark.textContent = '✔ verified';
      mark.title = what;
    } else {
      mark.className = 'mark failed';
      mark.textContent = '✘ check failed';
      mark.title = outcome.reason;
      mark.append(h('span', { class: 'reason' }, `: ${outcome.reason}`));
    }
    mark.dataset.outcome = outcome.ok ? 'verified' : 'failed';
  });
  return mark;
}

export function bundleButton(bundle: unknown, name: string): HTMLElement {
  const button = h('button', { type: 'button', class: 'secondary' }, 'Download proof');
  button.addEventListener('click', () => download(name, `${JSON.stringify(bundle, null, 2)}\n`));
  return button;
}

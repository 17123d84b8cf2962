/** The "verified" mark: pending until the browser has checked the bundle, then verified or failed. */
import type { Outcome, TrustedLog, UseOutcome } from '../trust.js';
import { download, h } from '../dom.js';

const BAD_VERDICTS = new Set(['no-consent', 'revoked', 'expired', 'use-not-allowed', 'commercial-not-allowed', 'licensee-mismatch', 'wrong-author', 'disputed', 'retention-overdue', 'unconsented-near-copy']);

export function verdictBadge(verdict: { verdict: string; reason?: string; distance?: number; compromisedKey?: { key: string; since: number; recordIndex: number } }): HTMLElement {
  const near = verdict.distance !== undefined ? ` (near copy, distance ${verdict.distance})` : '';
  // A use the builder's key declared while stolen: still shown (it is evidence), but flagged.
  const stolen = verdict.compromisedKey ? `, declared by a key its builder reported stolen (record ${verdict.compromisedKey.recordIndex})` : '';
  return h('span', { class: `verdict ${verdict.verdict === 'consented' ? 'consented' : BAD_VERDICTS.has(verdict.verdict) ? 'bad' : ''}`, title: verdict.reason ?? '' }, `${verdict.verdict}${near}${stolen}`);
}

/** The mark of a use report being checked (TrustedLog.verifyUse); failures are shown, never hidden. */
export function useMark(check: Promise<UseOutcome>): HTMLElement {
  return markOf(
    check.then((o): Outcome => (o.ok ? { ok: true } : o)),
    'checkpoint signature, log inclusion, record signature and manifest inclusion checked in this browser; the work, model, builder, log entry and item shown are those of the proven record',
  );
}

/**
 * Text the proof decides: the server's label (styled as a claim) until the check ends, then the
 * proven value; after a failed check the label stays, marked as the server's unproven claim.
 */
export function provenText(check: Promise<UseOutcome>, claimed: string, proven: (o: Extract<UseOutcome, { ok: true }>) => string): HTMLElement {
  const span = h('span', { class: 'claim', title: 'the server’s claim, being checked' }, claimed);
  void check.then((o) => {
    if (o.ok) {
      span.textContent = proven(o);
      span.className = 'proven';
      span.removeAttribute('title');
    } else span.title = 'the server’s claim, not proven';
  });
  return span;
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

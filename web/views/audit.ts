/** Auditor view: the verified current checkpoint, the witnesses whose cosignatures verify, tree-size history and verdict totals. */
import { api } from '../api.js';
import { h, table } from '../dom.js';
import type { TrustedLog } from '../trust.js';

interface Stats {
  treeSize: number;
  indexed: number;
  /** The totals are tallied behind the index: complete for entries below `judged` (spec/api.md). */
  judged: number;
  records: Record<string, number>;
  verdicts: Record<string, number>;
  history: Array<{ size: number; time: string }>;
}

export async function renderAudit(container: HTMLElement, trust: TrustedLog): Promise<void> {
  container.replaceChildren(h('p', {}, 'Loading…'));
  try {
    const cp = await trust.latestCheckpoint();
    const stats = await api.json<Stats>('/stats');
    container.replaceChildren(
      h('h3', {}, 'Current checkpoint'),
      h('p', {}, cp.verified ? h('span', { class: 'mark verified' }, '✔ signature verified against your pinned key') : h('span', { class: 'mark failed' }, `✘ ${cp.reason}`), cp.consistent === false ? h('span', { class: 'mark failed' }, ' ✘ not consistent with the checkpoint this browser saw before!') : null),
      table(['Origin', 'Tree size', 'Root hash'], [[cp.origin, cp.size.toLocaleString('en'), h('code', { class: 'ids' }, cp.rootHash)]], 'Checkpoint'),
      h('h3', {}, 'Witnesses'),
      cp.cosigners.length
        ? table(['Witness', 'Cosigned at'], cp.cosigners.map((c) => [c.name, c.time]), 'Witnesses')
        : h('p', {}, trust.witnessKeys.length ? 'No cosignature on this checkpoint verifies against the witness keys you configured.' : 'No witness keys configured: no cosignature can be checked, so none is shown as a witness.'),
      ...(cp.unverifiedCosignatures ? [h('p', { class: 'warning', id: 'unverified-cosignatures' }, `unverified cosignature lines: ${cp.unverifiedCosignatures}`)] : []),
      h('h3', {}, 'Tree size history'),
      table(['Time', 'Tree size'], stats.history.slice(-12).reverse().map((p) => [p.time, p.size.toLocaleString('en')]), 'Tree size history'),
      h('h3', {}, 'Records'),
      table(['Type', 'Count'], Object.entries(stats.records).map(([k, v]) => [k, v.toLocaleString('en')]), 'Records by type'),
      h('h3', {}, 'Verdicts of all declared items'),
      ...(stats.judged < stats.indexed ? [h('p', { class: 'warning', id: 'tally-lag' }, `Still counting: the totals are complete for entries below ${stats.judged.toLocaleString('en')} of the ${stats.indexed.toLocaleString('en')} indexed.`)] : []),
      table(['Verdict', 'Items'], Object.entries(stats.verdicts).map(([k, v]) => [k, v.toLocaleString('en')]), 'Verdict totals'),
    );
  } catch (err) {
    container.replaceChildren(h('p', { class: 'error' }, `Could not load: ${(err as Error).message}`));
  }
}

/**
 * Figures for auditors (GET /stats): records by type, the verdict of every declared item judged
 * now, and the tree size over time. Verdicts over millions of manifest items are not free, so
 * the answer is computed at most once per tree size and minute.
 */
import type { ConsentPolicy } from '../policy/index.js';
import { type ParsedRecord, decodeManifestItem, fromHex } from '../records/index.js';
import type { ManifestStore } from './manifests.js';

export interface LedgerStats {
  treeSize: number;
  records: Record<string, number>;
  verdicts: Record<string, number>;
  /** Items declared (inline and in manifests) and judged. */
  items: number;
  history: Array<{ size: number; time: string }>;
}

const HISTORY_LENGTH = 1000;
const CACHE_MS = 60_000;

export class StatsKeeper {
  private readonly records: Record<string, number> = {};
  private readonly useIndexes: number[] = [];
  private readonly history: Array<{ size: number; time: string }> = [];
  private cached: { size: number; at: number; stats: LedgerStats } | undefined;

  constructor(
    private readonly policy: ConsentPolicy,
    private readonly manifests: ManifestStore,
    private readonly now: () => number,
  ) {}

  /** Every record, in log order, as the policy sees it. */
  count(index: number, record: ParsedRecord): void {
    const type = record.payload.type;
    this.records[type] = (this.records[type] ?? 0) + 1;
    if (type === 'training-use') this.useIndexes.push(index);
  }

  /** Each published checkpoint. */
  checkpoint(size: number): void {
    this.history.push({ size, time: new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, 'Z') });
    if (this.history.length > HISTORY_LENGTH) this.history.splice(0, this.history.length - HISTORY_LENGTH);
  }

  async stats(treeSize: number): Promise<LedgerStats> {
    const at = this.now();
    if (this.cached && this.cached.size === treeSize && at - this.cached.at < CACHE_MS) return this.cached.stats;
    const verdicts: Record<string, number> = {};
    let items = 0;
    const now = new Date(at);
    for (const useIndex of this.useIndexes) {
      if (useIndex >= treeSize) break;
      const use = this.policy.use(useIndex);
      if (!use) continue;
      const tally = (verdict: string) => {
        verdicts[verdict] = (verdicts[verdict] ?? 0) + 1;
        items++;
      };
      if (use.record.items) {
        for (const j of this.policy.judgeUse(useIndex, { now })) tally(j.verdict);
      } else {
        const judgeItem = this.policy.manifestItemJudge(useIndex, { now });
        for await (const { bytes } of this.manifests.items(fromHex(use.record.manifest!.root)!)) tally(judgeItem(decodeManifestItem(bytes)).verdict);
      }
    }
    const stats = { treeSize, records: { ...this.records }, verdicts, items, history: [...this.history] };
    this.cached = { size: treeSize, at, stats };
    return stats;
  }
}

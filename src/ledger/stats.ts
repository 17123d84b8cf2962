/**
 * Figures for auditors (GET /stats): records by type, the verdict of every declared item judged
 * now, and the tree size over time. Verdicts over millions of manifest items are not free, so
 * the answer is computed at most once per tree size and minute.
 */
import { decodeManifestItem, fromHex } from '../records/index.js';
import type { ManifestStore } from './manifests.js';
import type { RunPolicy, StoredPolicyFacts } from './policy-facts.js';

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
  private readonly history: Array<{ size: number; time: string }> = [];
  private cached: { size: number; at: number; stats: LedgerStats } | undefined;

  constructor(
    private readonly policy: RunPolicy,
    private readonly facts: StoredPolicyFacts,
    private readonly manifests: ManifestStore,
    private readonly now: () => number,
  ) {}

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
    // Every record applied (sequenced), as before; verdicts are for the uses below treeSize.
    const records = this.facts.recordCounts();
    for await (const useIndex of this.facts.useIndexes()) {
      if (useIndex >= treeSize) break;
      const use = await this.policy((p) => p.use(useIndex));
      if (!use) continue;
      const tally = (verdict: string) => {
        verdicts[verdict] = (verdicts[verdict] ?? 0) + 1;
        items++;
      };
      if (use.record.items) {
        for (const j of await this.policy((p) => p.judgeUse(useIndex, { now }))) tally(j.verdict);
      } else {
        const judgeItem = await this.policy((p) => p.manifestItemJudge(useIndex, { now }));
        for await (const { bytes } of this.manifests.items(fromHex(use.record.manifest!.root)!)) {
          const item = decodeManifestItem(bytes);
          tally((await this.policy(() => judgeItem(item))).verdict);
        }
      }
    }
    const stats = { treeSize, records, verdicts, items, history: [...this.history] };
    this.cached = { size: treeSize, at, stats };
    return stats;
  }
}

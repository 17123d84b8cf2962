/**
 * The read side of the ledger: uses of works and creators, consents, models. Lists come from the
 * query index (log order, entries below N); statuses and verdicts from the consent policy, judged
 * at the ledger's clock.
 */
import type { RunPolicy } from './policy-facts.js';
import type { KeyRef, ModelId } from '../records/index.js';
import type { KeyValueSpace, LogStore } from '../store/index.js';
import { TAG, prefixRange, readU64, workPrefix } from './keys.js';
import type { ReportBuilder, UseRef } from './reports.js';
import type { WorkUse } from './indexer.js';
import type { UseSimilarity } from './similar.js';
import { Lru } from '../log/index.js';
import { parseTrusted } from './trusted.js';
import type { UseReport } from './types.js';

export interface QuerySources {
  space: KeyValueSpace;
  store: LogStore;
  policy: RunPolicy;
  reports: ReportBuilder;
  now: () => number;
  /** Entries [0, indexed()) are in the query index. */
  indexed: () => number;
  /** Perceptual identifiers of use items, for near copies of a creator's works. */
  similar?: UseSimilarity;
}

type WorkRef = UseRef & { work: string; distance?: number };

/**
 * Works whose use lists are kept in memory. Creators ask about the same works again and again,
 * and opening a LevelDB range costs more than the rest of a small query.
 */
const CACHED_WORKS = 50_000;

export class LedgerQueries {
  private readonly space: KeyValueSpace;
  private readonly policy: RunPolicy;
  private readonly reports: ReportBuilder;
  /** Use refs per work in log order: whole index lists, kept in step by `written`. */
  private readonly refCache = new Lru<string, UseRef[]>(CACHED_WORKS);
  /** Counts index writes, so that a scan overlapping one is not cached (it may miss its refs). */
  private writes = 0;

  constructor(private readonly src: QuerySources) {
    this.space = src.space;
    this.policy = src.policy;
    this.reports = src.reports;
  }

  /** (useIndex, position) of items naming `workId`, in log order, after `after` if given. */
  private async useRefs(workId: string, after: UseRef | null = null): Promise<UseRef[]> {
    let refs = this.refCache.get(workId);
    if (!refs) {
      const writesBefore = this.writes;
      refs = await this.scanUseRefs(workId);
      if (this.writes === writesBefore) this.refCache.set(workId, refs);
    }
    return after ? refs.filter((ref) => compareRefs(ref, after) > 0) : refs;
  }

  private async scanUseRefs(workId: string): Promise<UseRef[]> {
    const prefix = workPrefix(TAG.workUse, workId);
    const refs: UseRef[] = [];
    for await (const [key] of this.space.range(prefixRange(prefix))) refs.push({ useIndex: readU64(key, prefix.length), position: readU64(key, prefix.length + 8) });
    return refs;
  }

  /** The index writer wrote these work → use keys (always after every key already cached). */
  written(uses: WorkUse[]): void {
    this.writes++;
    for (const { work, useIndex, position } of uses) {
      const refs = this.refCache.get(work);
      const ref = { useIndex, position };
      // A scan that saw the keys land may already hold them.
      if (refs && (refs.length === 0 || compareRefs(refs[refs.length - 1], ref) < 0)) refs.push(ref);
    }
  }

  /** The index was cleared (reindex). */
  cleared(): void {
    this.writes++;
    this.refCache.clear();
  }

  /**
   * Reports in the order of `refs`; built concurrently, so the store's reads overlap. A near
   * copy's report carries its distance to the creator's work when the verdict did not set one.
   */
  private async reportsFor(refs: WorkRef[]): Promise<UseReport[]> {
    const built = await Promise.all(refs.map((ref) => this.reports.reports(ref, ref.work)));
    return built.flatMap((reports, i) => {
      const distance = refs[i].distance;
      if (distance === undefined) return reports;
      return reports.map((r) => {
        if (r.verdict.distance !== undefined) return r;
        const verdict = { ...r.verdict, distance };
        return { ...r, verdict, bundle: { ...r.bundle, verdict } };
      });
    });
  }

  /** Counts for GET /works/similar: indexed consent grants and use items naming `workId`. */
  async workCounts(workId: string): Promise<{ consents: number; uses: number }> {
    return { consents: (await this.indexedGrants(workId)).length, uses: (await this.useRefs(workId)).length };
  }

  /** Grants naming `workId` below the indexed size, with their status now. */
  private async indexedGrants(workId: string) {
    const now = new Date(this.src.now());
    const indexed = this.src.indexed();
    return (await this.policy((p) => p.consentsOfWork(workId, now))).filter((c) => c.index < indexed);
  }

  async usesOfWork(workId: string): Promise<UseReport[]> {
    return this.reportsFor((await this.useRefs(workId)).map((r) => ({ ...r, work: workId })));
  }

  async consentsOfWork(workId: string): Promise<Array<{ index: number; author: string; record: unknown; status: string }>> {
    const out = [];
    for (const { index, status } of await this.indexedGrants(workId)) {
      const [entry] = await this.src.store.readEntries(index, 1);
      const record = parseTrusted(entry);
      if (!record) continue;
      out.push({ index, author: record.author, record: record.payload, status });
    }
    return out;
  }

  async usesOfCreator(creatorKey: string): Promise<{ works: string[]; uses: UseReport[] }> {
    const works = await this.policy((p) => p.worksOf(creatorKey as KeyRef));
    return { works, uses: await this.usesOfWorks(works, true, null) };
  }

  async usesSince(filter: { creator?: string; works?: string[] }, after: UseRef | null): Promise<UseReport[]> {
    if (filter.works) return this.usesOfWorks(filter.works, false, after);
    const works = filter.creator ? await this.policy((p) => p.worksOf(filter.creator as KeyRef)) : [];
    return this.usesOfWorks(works, filter.creator !== undefined, after);
  }

  /** Items naming `works` after `after`; a creator's (`nearCopies`) also those nearly copying them. */
  private async usesOfWorks(works: string[], nearCopies: boolean, after: UseRef | null): Promise<UseReport[]> {
    const byRef = new Map<string, WorkRef>();
    const refsByWork = await Promise.all(works.map((work) => this.useRefs(work, after)));
    for (const [i, work] of works.entries()) {
      for (const ref of refsByWork[i]) {
        const key = `${ref.useIndex}.${ref.position}`;
        if (!byRef.has(key)) byRef.set(key, { ...ref, work });
      }
    }
    // A creator also hears of items that nearly copy their works (spec/policy.md, rule 1a).
    if (nearCopies) {
      for (const ref of this.nearCopyRefs(works, after)) {
        const key = `${ref.useIndex}.${ref.position}`;
        if (!byRef.has(key)) byRef.set(key, ref);
      }
    }
    return this.reportsFor([...byRef.values()].sort(compareRefs));
  }

  /** Indexed use items within the match threshold of the perceptual identifiers among `works`, nearest match per item. */
  private nearCopyRefs(works: string[], after: UseRef | null): WorkRef[] {
    const best = new Map<string, WorkRef>();
    for (const id of works) {
      for (const near of this.src.similar?.near(id) ?? []) {
        if (near.useIndex >= this.src.indexed() || (after && compareRefs(near, after) <= 0)) continue;
        const key = `${near.useIndex}.${near.position}`;
        const seen = best.get(key);
        if (!seen || near.distance < seen.distance!) best.set(key, { useIndex: near.useIndex, position: near.position, work: near.work, distance: near.distance });
      }
    }
    return [...best.values()];
  }

  async model(builder: string, name: string, version: string): Promise<unknown | undefined> {
    const id = `${builder}/${name}@${version}`;
    const view = await this.policy((p) => p.model(id as ModelId));
    if (!view) return undefined;
    const visible = (index: number) => index < this.src.indexed();
    const uses = await this.policy((p) =>
      view.uses.filter(visible).map((index) => {
        const record = p.use(index)!.record;
        return { index, items: record.items?.length ?? record.manifest!.count, manifest: record.manifest ?? null };
      }),
    );
    const edge = (e: { lineageIndex: number; parent: string; child: string; relation: string }) => ({ index: e.lineageIndex, parent: e.parent, child: e.child, relation: e.relation });
    const retired = view.retired && visible(view.retired.index) ? { index: view.retired.index, time: view.retired.effective, status: view.retired.status } : null;
    return { model: id, uses, parents: view.parents.filter((e) => visible(e.lineageIndex)).map(edge), children: view.children.filter((e) => visible(e.lineageIndex)).map(edge), retired };
  }
}

function compareRefs(a: UseRef, b: UseRef): number {
  return a.useIndex - b.useIndex || a.position - b.position;
}

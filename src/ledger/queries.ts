/**
 * The read side of the ledger: uses of works and creators, consents, models. Lists come from the
 * query index (log order, entries below N); statuses and verdicts from the consent policy, judged
 * at the ledger's clock.
 *
 * Every list is answered one page at a time: at most `limit` items after a cursor, read from the
 * index's ordered ranges (one per work, merged in log order for a creator) and never whole, so
 * what a request costs does not grow with what anyone logged about a work (spec/api.md).
 */
import type { RunPolicy } from './policy-facts.js';
import type { KeyRef, ModelId } from '../records/index.js';
import type { KeyValueSpace, LogStore } from '../store/index.js';
import { TAG, concat, prefixRange, readU64, u64, workPrefix } from './keys.js';
import { type ReportBuilder, type ReportContext, type UseRef, newReportContext } from './reports.js';
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

/** Items per page: the default and the most a request may ask for. */
export const PAGE_LIMIT = { default: 100, max: 1000 } as const;
/** Work identifiers of a creator whose uses one request merges (the first, in grant order). */
export const MAX_CREATOR_WORKS = 1000;
/** Near-copy matches one page examines (a crowd of declared near copies costs no more). */
export const MAX_NEAR_MATCHES = 10_000;
/** GET /works/similar counts a work's uses and consents up to this many. */
export const MAX_COUNT = 10_000;
/**
 * A page ends early, at an item boundary, once it holds this many reports or about this many
 * bytes of them: lineage multiplies an item's reports, and a report carries its whole entry.
 */
const PAGE_REPORTS = 2000;
const PAGE_BYTES = 8 * 1024 * 1024;
/** Items whose reports are built at once (their store reads overlap). */
const REPORT_BATCH = 32;
/** Keys a work's range first reads for a page; later reads double, up to the page. */
const FIRST_READ = 16;

/**
 * Works whose whole use list is kept in memory, if it is short: creators ask about the same works
 * again and again, and opening a LevelDB range costs more than the rest of a small query. A list
 * longer than CACHED_REFS is not kept (only the mark that it is long), so the cache holds at most
 * CACHED_WORKS × CACHED_REFS refs (~12 MB) whatever the index holds.
 */
const CACHED_WORKS = 20_000;
const CACHED_REFS = 32;
const LONG = 'long' as const;
/** A cached list: useIndex, position, useIndex, position, … in log order. */
type CachedRefs = number[] | typeof LONG;

type WorkRef = UseRef & { work: string; distance?: number };

export interface PageRequest<C> {
  /** Items after this cursor (exclusive); none: from the start. */
  after?: C | null;
  /** At most this many items (default PAGE_LIMIT.default, capped at PAGE_LIMIT.max). */
  limit?: number;
}

export interface UsePage {
  uses: UseReport[];
  /** The cursor of the last item returned when more may follow, else null. */
  next: UseRef | null;
  /** Some item of the page had more derived models than get reports (MAX_DERIVED_REPORTS). */
  lineageTruncated: boolean;
}

export interface CreatorUsePage extends UsePage {
  /** The creator's work identifiers whose uses are listed (at most MAX_CREATOR_WORKS). */
  works: string[];
  /** The creator has more work identifiers than `works` lists; their uses are not merged in. */
  worksTruncated: boolean;
  /** More near-copy matches than MAX_NEAR_MATCHES: some near copies may be missing from the page. */
  nearCopiesTruncated: boolean;
}

export interface Consent {
  index: number;
  author: string;
  record: unknown;
  status: string;
}

/** A dispute ruling on a work: a claim by an attester that the server lists but does not judge by (spec/policy.md §2, Rulings). */
export interface Ruling {
  index: number;
  /** The attester. */
  author: string;
  owner: string;
  work: string[];
  statement?: string;
}

/** Rulings GET /works/<id>/consents lists at most (the latest): anyone may sign one, so they are not all shown. */
export const MAX_RULINGS = 100;

export interface ConsentPage {
  consents: Consent[];
  /** Dispute rulings naming the work, in log order (on the first page only). */
  rulings?: Ruling[];
  /** The grant index of the last consent returned when more may follow, else null. */
  next: number | null;
}

export function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return PAGE_LIMIT.default;
  return Math.max(1, Math.min(PAGE_LIMIT.max, Math.floor(limit)));
}

export class LedgerQueries {
  private readonly space: KeyValueSpace;
  private readonly policy: RunPolicy;
  private readonly reports: ReportBuilder;
  /** Short use lists per work (whole, deduplicated), kept in step by `written`. */
  private readonly refCache = new Lru<string, CachedRefs>(CACHED_WORKS);
  /** Counts index writes, so that a scan overlapping one is not cached (it may miss its refs). */
  private writes = 0;

  constructor(private readonly src: QuerySources) {
    this.space = src.space;
    this.policy = src.policy;
    this.reports = src.reports;
  }

  /** The index writer wrote these work → use keys (always after every key already cached). */
  written(uses: WorkUse[]): void {
    this.writes++;
    for (const { work, useIndex, position } of uses) {
      const refs = this.refCache.get(work);
      if (refs === undefined || refs === LONG) continue;
      const last = refs.length - 2;
      // A scan that saw the keys land may already hold them; one ref per use (the first item).
      if (last >= 0 && (refs[last] > useIndex || refs[last] === useIndex)) continue;
      if (refs.length >= 2 * CACHED_REFS) this.refCache.set(work, LONG);
      else refs.push(useIndex, position);
    }
  }

  /** The index was cleared (reindex). */
  cleared(): void {
    this.writes++;
    this.refCache.clear();
  }

  // ---- uses ---------------------------------------------------------------------------------

  async usesOfWork(workId: string, page: PageRequest<UseRef> = {}): Promise<UsePage> {
    const { refs } = await this.mergedRefs([workId], false, page);
    return this.pageOf(refs, pageLimit(page.limit));
  }

  async usesOfCreator(creatorKey: string, page: PageRequest<UseRef> = {}): Promise<CreatorUsePage> {
    const all = await this.policy((p) => p.worksOf(creatorKey as KeyRef));
    const works = all.slice(0, MAX_CREATOR_WORKS);
    const { refs, nearCopiesTruncated } = await this.mergedRefs(works, true, page);
    return { works, worksTruncated: all.length > works.length, nearCopiesTruncated, ...(await this.pageOf(refs, pageLimit(page.limit))) };
  }

  /** For event streams: uses of the creator's works (with near copies) or of `works`, after `after`. */
  async usesSince(filter: { creator?: string; works?: string[] }, after: UseRef | null, limit?: number): Promise<UsePage> {
    const page = { after, limit };
    if (filter.works) return this.usesOfWorks(filter.works.slice(0, MAX_CREATOR_WORKS), false, page);
    const works = filter.creator ? (await this.policy((p) => p.worksOf(filter.creator as KeyRef))).slice(0, MAX_CREATOR_WORKS) : [];
    return this.usesOfWorks(works, filter.creator !== undefined, page);
  }

  private async usesOfWorks(works: string[], nearCopies: boolean, page: PageRequest<UseRef>): Promise<UsePage> {
    const { refs } = await this.mergedRefs(works, nearCopies, page);
    return this.pageOf(refs, pageLimit(page.limit));
  }

  /**
   * The first `limit` + 1 items after the cursor naming one of `works` (and, with `nearCopies`,
   * nearly copying one), in log order, each once: a k-way merge of the works' index ranges that
   * reads only as far as the page goes.
   */
  private async mergedRefs(works: string[], nearCopies: boolean, page: PageRequest<UseRef>): Promise<{ refs: WorkRef[]; nearCopiesTruncated: boolean }> {
    const want = pageLimit(page.limit) + 1;
    const after = page.after ?? null;
    const indexed = this.src.indexed();
    const sources = await Promise.all(works.map((work, order) => this.source(work, order, after, indexed)));
    // A creator also hears of items that nearly copy their works (spec/policy.md, rule 1a).
    const near = nearCopies ? this.nearCopyRefs(works, after, want, indexed) : { refs: [], truncated: false };
    sources.push(new ListSource(works.length, near.refs));
    await Promise.all(sources.map((s) => s.fill(Math.min(want, FIRST_READ))));
    const heap = new Heap<RefSource>((a, b) => compareRefs(a.head()!, b.head()!) || a.order - b.order);
    for (const s of sources) if (s.head()) heap.push(s);
    const refs: WorkRef[] = [];
    while (refs.length < want && heap.size > 0) {
      const source = heap.pop()!;
      const ref = source.take();
      const last = refs[refs.length - 1];
      // The same item under two of the works (or as a near copy too): the first source names it.
      if (!last || compareRefs(last, ref) !== 0) refs.push(ref);
      if (!source.head() && !source.done) await source.fill(Math.max(1, Math.min(want - refs.length, source.nextRead())));
      if (source.head()) heap.push(source);
    }
    return { refs, nearCopiesTruncated: near.truncated };
  }

  /** Where a work's refs after the cursor come from: its cached list, or its index range. */
  private async source(work: string, order: number, after: UseRef | null, indexed: number): Promise<RefSource> {
    let cached = this.refCache.get(work);
    if (cached === undefined) {
      const writesBefore = this.writes;
      const probe = new RangeSource(this.space, work, order, null, Number.MAX_SAFE_INTEGER);
      await probe.fill(CACHED_REFS + 1);
      cached = probe.done && probe.pending <= CACHED_REFS ? probe.drain().flatMap((r) => [r.useIndex, r.position]) : LONG;
      if (this.writes === writesBefore) this.refCache.set(work, cached);
    }
    if (cached === LONG) return new RangeSource(this.space, work, order, after, indexed);
    const refs: WorkRef[] = [];
    for (let i = 0; i < cached.length; i += 2) {
      const ref = { useIndex: cached[i], position: cached[i + 1], work };
      if (ref.useIndex < indexed && (!after || compareRefs(ref, after) > 0)) refs.push(ref);
    }
    return new ListSource(order, refs);
  }

  /**
   * The first `want` indexed items after the cursor within the match threshold of the perceptual
   * identifiers among `works`, in log order, each with its nearest match: kept in a bounded heap,
   * so a page holds `want` of them whatever the matches number.
   */
  private nearCopyRefs(works: string[], after: UseRef | null, want: number, indexed: number): { refs: WorkRef[]; truncated: boolean } {
    const kept = new Map<string, WorkRef>();
    const latest = new Heap<WorkRef>((a, b) => compareRefs(b, a));
    let examined = 0;
    let truncated = false;
    outer: for (const id of works) {
      for (const near of this.src.similar?.near(id) ?? []) {
        if (++examined > MAX_NEAR_MATCHES) {
          truncated = true;
          break outer;
        }
        if (near.useIndex >= indexed || (after && compareRefs(near, after) <= 0)) continue;
        const key = `${near.useIndex}.${near.position}`;
        const seen = kept.get(key);
        if (seen) {
          if (near.distance < seen.distance!) seen.distance = near.distance;
          continue;
        }
        const ref = { useIndex: near.useIndex, position: near.position, work: near.work, distance: near.distance };
        if (kept.size >= want) {
          // Only items before the latest kept one can be on the page.
          if (compareRefs(ref, latest.peek()!) >= 0) continue;
          const dropped = latest.pop()!;
          kept.delete(`${dropped.useIndex}.${dropped.position}`);
        }
        kept.set(key, ref);
        latest.push(ref);
      }
    }
    return { refs: [...kept.values()].sort(compareRefs), truncated };
  }

  /**
   * The page for `refs` (up to limit + 1 items, in log order): the reports of the first `limit`,
   * built a batch at a time until the page's budget is spent. A near copy's report carries its
   * distance to the creator's work when the verdict did not set one.
   */
  private async pageOf(refs: WorkRef[], limit: number): Promise<UsePage> {
    const context = newReportContext();
    const uses: UseReport[] = [];
    let bytes = 0;
    let last: UseRef | null = null;
    const items = refs.slice(0, limit);
    for (let at = 0; at < items.length; at += REPORT_BATCH) {
      const batch = items.slice(at, at + REPORT_BATCH);
      const built = await Promise.all(batch.map((ref) => this.reportsFor(ref, context)));
      for (const [i, reports] of built.entries()) {
        // Always at least one item, so that every page moves the cursor on.
        if (last && (uses.length + reports.length > PAGE_REPORTS || bytes >= PAGE_BYTES)) return { uses, next: last, lineageTruncated: context.lineageTruncated };
        uses.push(...reports);
        for (const r of reports) bytes += reportBytes(r);
        last = { useIndex: batch[i].useIndex, position: batch[i].position };
      }
    }
    return { uses, next: refs.length > limit ? last : null, lineageTruncated: context.lineageTruncated };
  }

  private async reportsFor(ref: WorkRef, context: ReportContext): Promise<UseReport[]> {
    const reports = await this.reports.reports(ref, ref.work, context);
    const distance = ref.distance;
    if (distance === undefined) return reports;
    return reports.map((r) => {
      if (r.verdict.distance !== undefined) return r;
      const verdict = { ...r.verdict, distance };
      return { ...r, verdict, bundle: { ...r.bundle, verdict } };
    });
  }

  // ---- consents and counts --------------------------------------------------------------------

  /** Counts for GET /works/similar: indexed consent grants and uses naming `workId`, each up to MAX_COUNT. */
  async workCounts(workId: string): Promise<{ consents: number; uses: number }> {
    const indexed = this.src.indexed();
    const now = new Date(this.src.now());
    const grants = await this.policy((p) => p.consentsOfWork(workId, now, { limit: MAX_COUNT }));
    const uses = await this.source(workId, 0, null, indexed);
    await uses.fill(MAX_COUNT);
    return { consents: grants.filter((c) => c.index < indexed).length, uses: uses.pending };
  }

  /** Grants naming `workId` below the indexed size, with their status now: one page, in log order. */
  async consentsOfWork(workId: string, page: PageRequest<number> = {}): Promise<ConsentPage> {
    const limit = pageLimit(page.limit);
    const now = new Date(this.src.now());
    const indexed = this.src.indexed();
    const grants = (await this.policy((p) => p.consentsOfWork(workId, now, { after: page.after ?? undefined, limit: limit + 1 }))).filter((c) => c.index < indexed);
    const listed = grants.slice(0, limit);
    const read = await Promise.all(
      listed.map(async ({ index, status }) => {
        const [entry] = await this.src.store.readEntries(index, 1);
        const record = parseTrusted(entry);
        return record ? { index, author: record.author as string, record: record.payload as unknown, status } : undefined;
      }),
    );
    const consents = read.filter((c) => c !== undefined);
    const rulings = page.after === undefined || page.after === null ? await this.rulingsOfWork(workId, indexed) : [];
    return { consents, ...(rulings.length > 0 ? { rulings } : {}), next: grants.length > limit ? listed[listed.length - 1].index : null };
  }

  /** The latest MAX_RULINGS rulings naming `workId` below the indexed size, in log order, with their statements. */
  private async rulingsOfWork(workId: string, indexed: number): Promise<Ruling[]> {
    const rulings = (await this.policy((p) => p.rulingsOfWork(workId))).filter((r) => r.index < indexed).slice(-MAX_RULINGS);
    return Promise.all(
      rulings.map(async ({ index, author, owner, work }) => {
        const record = parseTrusted((await this.src.store.readEntries(index, 1))[0]);
        const statement = record?.payload.type === 'dispute-ruling' ? record.payload.statement : undefined;
        return { index, author, owner, work: [...work], ...(statement !== undefined ? { statement } : {}) };
      }),
    );
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

// ---- sources of refs ----------------------------------------------------------------------------

/** Refs of one work (or the near copies) after the cursor, in log order, read a piece at a time. */
interface RefSource {
  /** Ties between sources go to the lower order (the creator's works in order, near copies last). */
  readonly order: number;
  readonly done: boolean;
  /** Refs read and not yet taken. */
  readonly pending: number;
  head(): WorkRef | undefined;
  take(): WorkRef;
  /** Reads up to `count` more refs. */
  fill(count: number): Promise<void>;
  /** How many to read next (doubling). */
  nextRead(): number;
}

class ListSource implements RefSource {
  private at = 0;
  readonly done = true;

  constructor(
    readonly order: number,
    private readonly refs: WorkRef[],
  ) {}

  get pending(): number {
    return this.refs.length - this.at;
  }

  head(): WorkRef | undefined {
    return this.refs[this.at];
  }

  take(): WorkRef {
    return this.refs[this.at++];
  }

  async fill(): Promise<void> {}

  nextRead(): number {
    return 0;
  }
}

/**
 * A work's refs from its index range (W ‖ id ‖ 0x00 ‖ u64 useIndex ‖ u64 position), from the
 * cursor on and below the indexed size. One ref per use: an index written before
 * deduplication may hold several keys of one use, and the first (its first item) stands for it.
 */
class RangeSource implements RefSource {
  private buffer: WorkRef[] = [];
  private at = 0;
  private from: Uint8Array;
  private readonly end: Uint8Array;
  private readonly prefix: Uint8Array;
  private lastUse = -1;
  private reads = FIRST_READ;
  done = false;

  constructor(
    private readonly space: KeyValueSpace,
    readonly work: string,
    readonly order: number,
    private readonly after: UseRef | null,
    private readonly visibleBelow: number,
  ) {
    this.prefix = workPrefix(TAG.workUse, work);
    this.end = prefixRange(this.prefix).lt;
    // From the cursor's use: its first key says whether that use is already behind the cursor.
    this.from = after ? concat(this.prefix, u64(after.useIndex)) : this.prefix;
  }

  /** Refs read and not yet taken. */
  get pending(): number {
    return this.buffer.length - this.at;
  }

  head(): WorkRef | undefined {
    return this.buffer[this.at];
  }

  take(): WorkRef {
    return this.buffer[this.at++];
  }

  drain(): WorkRef[] {
    const refs = this.buffer.slice(this.at);
    this.at = this.buffer.length;
    return refs;
  }

  nextRead(): number {
    return (this.reads *= 2);
  }

  async fill(count: number): Promise<void> {
    if (this.at > 0) {
      this.buffer = this.buffer.slice(this.at);
      this.at = 0;
    }
    let need = count;
    while (need > 0 && !this.done) {
      const asked = need;
      let read = 0;
      let skipTo: Uint8Array | undefined;
      for await (const [key] of this.space.range({ gte: this.from, lt: this.end, limit: asked })) {
        read++;
        const useIndex = readU64(key, this.prefix.length);
        const position = readU64(key, this.prefix.length + 8);
        if (useIndex === this.lastUse) {
          // Another key of a use already seen (an index from before deduplication): skip the
          // rest of that use's keys in one seek rather than reading them.
          skipTo = concat(this.prefix, u64(useIndex + 1));
          break;
        }
        this.lastUse = useIndex;
        this.from = concat(key, [0]);
        if (useIndex >= this.visibleBelow) {
          this.done = true;
          break;
        }
        if (this.after && compareRefs({ useIndex, position }, this.after) <= 0) continue;
        this.buffer.push({ useIndex, position, work: this.work });
        need--;
      }
      if (skipTo) this.from = skipTo;
      else if (read < asked) this.done = true;
    }
  }
}

/** A binary heap: `pop` gives the least element in `compare`'s order. */
class Heap<T> {
  private readonly items: T[] = [];

  constructor(private readonly compare: (a: T, b: T) => number) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const items = this.items;
    items.push(item);
    for (let i = items.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (this.compare(items[i], items[parent]) >= 0) break;
      [items[i], items[parent]] = [items[parent], items[i]];
      i = parent;
    }
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let least = i;
        if (l < items.length && this.compare(items[l], items[least]) < 0) least = l;
        if (r < items.length && this.compare(items[r], items[least]) < 0) least = r;
        if (least === i) break;
        [items[i], items[least]] = [items[least], items[i]];
        i = least;
      }
    }
    return top;
  }
}

/** About how many bytes a report takes as JSON: its entry, checkpoint and proofs dominate. */
function reportBytes(r: UseReport): number {
  const b = r.bundle;
  return 1024 + b.log.entry.length + b.checkpoint.length + 48 * b.log.inclusionProof.length + (b.manifest ? b.manifest.item.length + 48 * b.manifest.proof.length : 0);
}

export function compareRefs(a: UseRef, b: UseRef): number {
  return a.useIndex - b.useIndex || a.position - b.position;
}

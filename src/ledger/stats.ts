/**
 * Figures for auditors (GET /stats): records by type, verdict tallies of the declared items, and
 * the tree size over time.
 *
 * The tallies are kept by a follower behind the query index, never on its path: judging costs a
 * policy lookup per item, and a manifest of millions of items would otherwise hold back the
 * index (and with it creator queries and notifications) for as long as it takes. The follower
 * judges the items of the indexed uses in log order, a bounded batch at a time, yielding to the
 * event loop between batches, and stores its progress with the tallies under `V` in one write:
 * (judged, position) says that every listed item of the uses below `judged` is counted, and of
 * the use at `judged` those below `position`. A restart resumes there, mid-manifest if need be,
 * so no item is counted twice or missed. /stats answers from the tallies stored last, saying how
 * far they reach, and never waits for the follower.
 *
 * Each item is judged as it stood when its use was logged — at the use's own `time`, from the
 * records logged before it (JudgeOptions.before) — a verdict no later record or clock changes,
 * so judging it later than the index does gives the same tally. Items count as the index lists
 * them: an item naming only works an earlier item of its use named is not counted
 * (spec/storage.md); the follower reads uses already indexed, so the index's keys settle what its
 * in-memory filter cannot.
 */
import type { Judgement } from '../policy/index.js';
import { type TrainingUseRecord, type UseItem, decodeManifestItem, fromHex } from '../records/index.js';
import type { KeyValueSpace } from '../store/index.js';
import { NamedInUse } from './dedup.js';
import { namedEarlier } from './indexer.js';
import { verdictsKey } from './keys.js';
import type { ManifestStore } from './manifests.js';
import type { RunPolicy, StoredPolicyFacts } from './policy-facts.js';

export interface LedgerStats {
  treeSize: number;
  /** The query index's size: entries [0, indexed) are indexed. */
  indexed: number;
  /** The verdict tallies count every listed item of the training uses among entries [0, judged); judged ≤ indexed. */
  judged: number;
  /** The tallies also count the listed items below `position` of the use at `judged` (a manifest being tallied). */
  partial: { useIndex: number; position: number } | null;
  records: Record<string, number>;
  verdicts: Record<string, number>;
  /** Items declared (inline and in manifests) and judged. */
  items: number;
  history: Array<{ size: number; time: string }>;
}

/** What `V` holds (spec/storage.md). */
interface Tallies {
  /** Every listed item of the training uses among entries [0, judged) is counted… */
  judged: number;
  /** …and of the use at entry `judged`, if it is one, the items at positions below this. */
  position: number;
  items: number;
  verdicts: Record<string, number>;
}

const HISTORY_LENGTH = 1000;
/** Items the follower reads, dedups and judges in one batch (one policy operation, one write of V). */
const STEP_ITEMS = 1024;
/**
 * Items a resumed follower runs through the dedup filter again in one batch (the items of a
 * manifest before the stored position): reading is much cheaper than judging.
 */
const REPLAY_ITEMS = 16_384;
/** Use indexes read from the policy's facts at a time. */
const USES_AHEAD = 256;
/** How long a failed batch (a store that cannot be written) waits before it is tried again. */
const RETRY_MS = 1000;
/** About how many identifiers an item names (sizes the dedup filter of big manifests). */
const IDS_PER_ITEM = 2;

const utf8 = new TextEncoder();
const text = new TextDecoder();

export class StatsKeeper {
  private readonly history: Array<{ size: number; time: string }> = [];
  /** What the stored V says: the answer of /stats. */
  private committed: Tallies = emptyTallies();
  /** Entries [0, indexed) are in the query index: the follower judges uses below it. */
  private indexed = 0;
  /** The use the follower is in, with what its items named so far (kept between batches). */
  private current: UseCursor | undefined;
  /** Uses at or after `committed.judged` and below `upcomingTo`, read ahead, in log order. */
  private upcoming: number[] = [];
  private upcomingTo = 0;
  /** Bumped by reindex: a batch that began before it counts an index that is gone. */
  private generation = 0;
  private following: Promise<void> | undefined;
  /** The follower runs while set: cleared by pause() and close(). */
  private enabled = false;
  private closed = false;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private inFlight: Promise<LedgerStats> | undefined;

  /** `track` reports how each run of the follower ends (it never rejects). */
  constructor(
    private readonly policy: RunPolicy,
    private readonly facts: StoredPolicyFacts,
    private readonly manifests: ManifestStore,
    private readonly space: KeyValueSpace,
    private readonly now: () => number,
    private readonly track: (run: Promise<void>) => Promise<void>,
  ) {}

  /** Reads the stored tallies; a V of an earlier version (or none) is counted again from 0. */
  async open(indexed: number): Promise<void> {
    const stored = decodeTallies(await this.space.get(verdictsKey));
    // Beyond the index only if V outlived the index it counted: count again.
    this.committed = stored && stored.judged <= indexed ? stored : emptyTallies();
    this.indexed = indexed;
  }

  /**
   * Entries [0, indexed) are indexed and the policy has been fed them: the follower may judge
   * their uses. The first call starts it.
   */
  indexedTo(indexed: number): void {
    this.indexed = indexed;
    if (this.closed) return;
    this.enabled = true;
    this.follow();
  }

  /** Each published checkpoint. */
  checkpoint(size: number): void {
    this.history.push({ size, time: new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, 'Z') });
    if (this.history.length > HISTORY_LENGTH) this.history.splice(0, this.history.length - HISTORY_LENGTH);
  }

  // ---- around a reindex and shutdown ------------------------------------------------------------

  /** Stops the follower after its batch in flight (whose write of V is done when this resolves). */
  async pause(): Promise<void> {
    this.enabled = false;
    clearTimeout(this.retry);
    this.retry = undefined;
    await this.following;
  }

  /** The index was cleared (reindex), V with it: tallies start again from 0 as it is rebuilt. */
  cleared(): void {
    this.generation++;
    this.committed = emptyTallies();
    this.indexed = 0;
    this.current = undefined;
    this.upcoming = [];
    this.upcomingTo = 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.pause();
  }

  // ---- answers ------------------------------------------------------------------------------------

  /** The figures now, from the stored tallies (concurrent calls share one answer). */
  stats(treeSize: number): Promise<LedgerStats> {
    this.inFlight ??= Promise.resolve().then(() => {
      this.inFlight = undefined;
      const { judged, position, items, verdicts } = this.committed;
      const partial = position > 0 ? { useIndex: judged, position } : null;
      return { treeSize, indexed: this.indexed, judged, partial, records: this.facts.recordCounts(), verdicts: { ...verdicts }, items, history: [...this.history] };
    });
    return this.inFlight;
  }

  // ---- the follower -------------------------------------------------------------------------------

  /** Runs batches until the tallies reach the index; one run at a time. */
  private follow(): void {
    if (this.following || !this.enabled || this.committed.judged >= this.indexed) return;
    const run = (async () => {
      while (this.enabled && this.committed.judged < this.indexed) {
        await this.step();
        // Bounded work per batch, and the event loop gets its turn between them.
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    this.following = this.track(
      run.catch((error: unknown) => {
        // What the cursor read past the stored position is not counted: read it again from there.
        this.current = undefined;
        // Kept for /healthz by `track`; tried again later.
        if (this.enabled) this.retry ??= setTimeout(() => ((this.retry = undefined), this.follow()), RETRY_MS).unref();
        throw error;
      }),
    ).finally(() => {
      this.following = undefined;
      // The index may have grown as the last batch was written.
      if (this.retry === undefined) this.follow();
    });
  }

  /** One batch: reads up to STEP_ITEMS items from the stored position on, judges those listed, stores V. */
  private async step(): Promise<void> {
    const generation = this.generation;
    const to = this.indexed;
    let { judged, position } = this.committed;
    const batch: Array<{ useIndex: number; item: UseItem }> = [];
    let read = 0;
    while (read < STEP_ITEMS && judged < to) {
      if (!this.current) {
        const useIndex = await this.nextUse(judged, to);
        if (useIndex === undefined) {
          ({ judged, position } = { judged: to, position: 0 });
          break;
        }
        if (useIndex > judged) ({ judged, position } = { judged: useIndex, position: 0 });
        this.current = await this.openUse(useIndex);
      }
      const use = this.current;
      if (use.next < position) {
        // Resumed mid-use: what the items before the stored position named, without judging them
        // (a batch of its own; the next goes on).
        await use.read(Math.min(REPLAY_ITEMS, position - use.next), () => undefined);
        return;
      }
      read += await use.read(STEP_ITEMS - read, (item) => void batch.push({ useIndex: use.index, item }));
      position = use.next;
      if (use.done) {
        this.current = undefined;
        ({ judged, position } = { judged: use.index + 1, position: 0 });
      }
    }
    const next = { ...addTallies(this.committed, await judgeBatch(this.policy, batch)), judged, position };
    // A reindex waits for the batch in flight (pause), so this is only a guard.
    if (generation !== this.generation) return;
    // Tallies and progress in one write. Derived from the log: lost with a machine crash, the
    // items are counted again from the older V, which never reaches past the N stored before it
    // (LevelDB has one write-ahead log).
    await this.space.write([{ key: verdictsKey, value: encodeTallies(next) }], { durable: false });
    this.committed = next;
  }

  /** The first training use in [from, to), from the policy's facts (which list every fed use). */
  private async nextUse(from: number, to: number): Promise<number | undefined> {
    while (this.upcoming.length > 0 && this.upcoming[0] < from) this.upcoming.shift();
    if (this.upcoming.length === 0 && this.upcomingTo < to) {
      const start = Math.max(from, this.upcomingTo);
      for await (const useIndex of this.facts.useIndexes(start)) {
        if (useIndex >= to || this.upcoming.length >= USES_AHEAD) break;
        this.upcoming.push(useIndex);
      }
      // Read up to `to` unless cut short; uses below `to` never change, so this is final.
      this.upcomingTo = this.upcoming.length >= USES_AHEAD ? this.upcoming[this.upcoming.length - 1] + 1 : to;
    }
    const next = this.upcoming[0];
    return next !== undefined && next < to ? next : undefined;
  }

  private async openUse(useIndex: number): Promise<UseCursor> {
    const use = await this.policy((p) => p.use(useIndex));
    return new UseCursor(useIndex, use?.record, this.manifests, this.space);
  }
}

/**
 * A training use's items read in order, a batch at a time, each passed on if it is listed (names a
 * work no earlier item of the use named).
 */
class UseCursor {
  /** The position of the next item to read. */
  next = 0;
  done: boolean;
  private readonly named: NamedInUse;
  private readonly count: number;

  constructor(
    readonly index: number,
    private readonly record: TrainingUseRecord | undefined,
    private readonly manifests: ManifestStore,
    space: KeyValueSpace,
  ) {
    this.count = record?.items?.length ?? record?.manifest?.count ?? 0;
    this.done = this.count === 0;
    // The use is indexed: its first key for a work the filter is unsure of settles it, as it settled the index.
    this.named = new NamedInUse(this.count * IDS_PER_ITEM, (id) => namedEarlier(space, id, index, this.next));
  }

  /** Reads up to `max` items; `listed` sees those listed. Returns how many were read. */
  async read(max: number, listed: (item: UseItem) => void): Promise<number> {
    const from = this.next;
    const add = async (item: UseItem) => {
      const checked = this.named.fresh(item.work);
      const fresh = Array.isArray(checked) ? checked : await checked;
      if (fresh.length > 0) listed(item);
      this.next++;
    };
    if (this.record?.items) {
      for (const item of this.record.items.slice(from, from + max)) await add(item);
    } else if (this.record?.manifest) {
      // A manifest gone from the store (rebuilt without its uploads) has no items, as in the index.
      for await (const { position, bytes } of this.manifests.items(fromHex(this.record.manifest.root)!, from)) {
        if (position >= from + max) break;
        await add(decodeManifestItem(bytes));
      }
      if (this.next === from && max > 0) this.next = this.count;
    }
    this.done = this.next >= this.count;
    return this.next - from;
  }
}

type Policy = Parameters<Parameters<RunPolicy>[0]>[0];

/** Tallies the verdicts of items as they stood when their use was logged, in one policy operation. */
async function judgeBatch(policy: RunPolicy, batch: Array<{ useIndex: number; item: UseItem }>): Promise<Tallies> {
  const tallies = emptyTallies();
  if (batch.length === 0) return tallies;
  const works = new Set<string>();
  for (const { item } of batch) for (const id of item.work) works.add(id);
  // Judging writes nothing, so an operation interrupted by a fact the caches lacked runs again
  // whole; the grants of the batch's works are loaded first, so that happens rarely.
  const verdicts = await policy((p) => {
    let judge: { useIndex: number; judge: ((item: UseItem) => Judgement) | undefined } | undefined;
    return batch.map(({ useIndex, item }) => {
      if (judge?.useIndex !== useIndex) judge = { useIndex, judge: judgeOf(p, useIndex) };
      return judge.judge?.(item).verdict;
    });
  }, { works });
  for (const verdict of verdicts) if (verdict !== undefined) count(tallies, verdict);
  return tallies;
}

/** Undefined if the entry is not a training use the policy knows. */
function judgeOf(p: Policy, useIndex: number): ((item: UseItem) => Judgement) | undefined {
  const use = p.use(useIndex);
  // Items of a parsed record or decoded from a manifest are well-formed: no schema check per item.
  return use && p.manifestItemJudge(useIndex, { now: use.record.time, before: useIndex });
}

function emptyTallies(): Tallies {
  return { judged: 0, position: 0, items: 0, verdicts: {} };
}

function count(t: Tallies, verdict: string): void {
  t.verdicts[verdict] = (t.verdicts[verdict] ?? 0) + 1;
  t.items++;
}

function addTallies(a: Tallies, b: Tallies): Tallies {
  const verdicts = { ...a.verdicts };
  for (const [v, n] of Object.entries(b.verdicts)) verdicts[v] = (verdicts[v] ?? 0) + n;
  return { ...a, items: a.items + b.items, verdicts };
}

function encodeTallies(t: Tallies): Uint8Array {
  const { judged, position, items, verdicts } = t;
  return utf8.encode(JSON.stringify({ judged, position, items, verdicts }));
}

/** The stored tallies, or undefined for none or those of an earlier version ({from, items, verdicts}). */
function decodeTallies(bytes: Uint8Array | undefined): Tallies | undefined {
  if (!bytes) return undefined;
  const v = JSON.parse(text.decode(bytes)) as Partial<Tallies>;
  const natural = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
  if (!natural(v.judged) || !natural(v.position) || !natural(v.items) || typeof v.verdicts !== 'object' || v.verdicts === null) return undefined;
  return { judged: v.judged, position: v.position, items: v.items, verdicts: v.verdicts };
}

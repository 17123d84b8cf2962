/**
 * The ledger: admission in front of the log, an integration loop behind it, and the query index
 * kept in step with the published checkpoint.
 *
 *  - The consent policy is fed every sequenced record in log order, catching up before each
 *    admission and each indexing round. Its facts are kept in store.space('policy') with the
 *    size they cover (StoredPolicyFacts), so on open it is fed only what that size lacks.
 *  - The query index (store.space('ledger')) covers entries [0, N) with N ≤ checkpoint size and
 *    is rebuilt from the log alone (reindex).
 */
import { type AppendResult, type IntegrationRound, type Integrator, Log, type SignedCheckpoint } from '../log/index.js';
import type { Hasher } from '../merkle/index.js';
import { type Ed25519Verify, type Signer, formatLogTimeLine } from '../note/index.js';
import { nodeHasher } from '../platform/node-hasher.js';
import { nodeEd25519Verify } from '../platform/node-signer.js';
import { ConsentPolicy, type LogClock } from '../policy/index.js';
import { type KeyRef, type ParsedRecord, type SignatureCheck, type TrainingUseRecord, type UseItem, RecordError, formatKeyRef, signRecord, decodeManifestItem, decodeRecord, encodeManifestHeader, formatRecordTime, fromHex, recordTimeSeconds, toHex } from '../records/index.js';
import type { KeyValueSpace, LogStore } from '../store/index.js';
import { LedgerError } from '../errors.js';
import { AdmissionError, LedgerInputError } from './errors.js';
import { type FreshItem, IndexWriter, namedEarlier } from './indexer.js';
import { NamedInUse } from './dedup.js';
import { nearCode } from '../policy/near-index.js';
import { INDEX_TAGS, concat, indexedKey, manifestUseKey, prefixRange, readU64, verdictsKey } from './keys.js';
import { type ManifestLimits, type ManifestPut, ManifestStore, type ManifestSubtreeHasher, parseRootHex } from './manifests.js';
import { type ConsentPage, type CreatorUsePage, LedgerQueries, type PageRequest, type UsePage } from './queries.js';
import { ReportBuilder, type UseRef } from './reports.js';
import { type SimilarWork, UseSimilarity, mergeSimilar, similarQuery } from './similar.js';
import { parseTrusted } from './trusted.js';
import { type IdentityClaim, identityClaim } from './identities.js';
import { type LedgerStats, StatsKeeper } from './stats.js';
import { type RunPolicy, StoredPolicyFacts } from './policy-facts.js';
import type { BackgroundFailure, BackgroundWork, ClaimNotice, Ledger, ManifestInfo, ManifestItemProof, SubmitResult, UseReport } from './types.js';

export interface LedgerOptions {
  /** An opened store; closing the ledger closes it (through the log). */
  store: LogStore;
  origin: string;
  signer: Signer;
  hasher?: Hasher;
  verify?: Ed25519Verify;
  integrateIntervalMs?: number;
  now?: () => number;
  /**
   * Admission refuses a record whose claimed `time` is further than this from `now()` (spec/api.md,
   * `clock-skew`); `pvl serve` sets it (default 5 minutes). Absent: no check. Only admission
   * checks it: replays (the policy feed, reindex, `pvl audit`) take the log as it is.
   */
  maxClockSkewMs?: number;
  extensions?: () => string[];
  /**
   * Precede admitted batches with clock records signed by `signer` (spec/policy.md "The clock")
   * and publish their time in each checkpoint (a `pvl-time` line); `pvl serve` does. Absent: no
   * clock records, and the records appended are judged by their claimed times, as in a log
   * written by an older version. The signer must know its public key.
   */
  clockRecords?: boolean;
  /** Where integration rounds hash (the server passes a worker thread); default in-thread. */
  integrator?: Integrator;
  /**
   * Checks many record signatures at once (the server passes a worker pool); default: `verify`
   * on this thread. Must answer as `verify` would, one boolean per check.
   */
  verifyBatch?: (checks: SignatureCheck[]) => Promise<boolean[]>;
  /** Where manifest uploads are hashed (the server passes a worker pool); default in-thread. */
  hashManifestSubtrees?: ManifestSubtreeHasher;
  /**
   * Unclaimed manifests: how long they wait for a claim and the quotas on their bytes
   * (defaults: DEFAULT_MANIFEST_LIMITS), and how often the sweep removes late ones (default 60 s).
   */
  manifests?: Partial<ManifestLimits> & { sweepIntervalMs?: number };
}

const READ_PAGE = 1024;
/** Unclaimed manifests one sweep step removes at most (one durable write, with admissions held). */
const SWEEP_BATCH = 64;
/** Waiting policy changes (store operations) past which the feed itself flushes them. */
const FLUSH_WAITING = 100_000;

type UseListener = (use: UseReport, claimants: string[]) => void;
type ClaimListener = (claim: ClaimNotice) => void;

export async function openLedger(opts: LedgerOptions): Promise<Ledger & { reindex(): Promise<void>; stats(): Promise<LedgerStats>; sweepManifests(): Promise<void> }> {
  const hasher = opts.hasher ?? nodeHasher;
  // The ledger is made after the log; the empty log's checkpoint has no clock record to name.
  let ledger: LedgerImpl | undefined;
  const extensions = (size: number) => (ledger ? ledger.checkpointExtensions(size) : (opts.extensions?.() ?? []));
  const log = await Log.open(opts.store, { origin: opts.origin, signer: opts.signer, hasher, extensions, integrator: opts.integrator });
  const facts = await StoredPolicyFacts.open(opts.store.space('policy'), {
    readEntry: async (index) => (await opts.store.readEntries(index, 1))[0],
    findByLeafHash: (leafHash) => log.findByLeafHash(leafHash),
  });
  ledger = new LedgerImpl(log, opts, hasher, facts);
  await ledger.start();
  return ledger;
}

/** Runs async jobs one at a time, in call order. */
class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(job: () => Promise<T>): Promise<T> {
    const next = this.tail.then(job, job);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

class LedgerImpl implements Ledger {
  private readonly space: KeyValueSpace;
  private readonly policy: ConsentPolicy;
  /** Runs an operation on the policy once the facts it reads are loaded from the store. */
  private readonly runPolicy: RunPolicy = (operation, preload) => this.facts.run(() => operation(this.policy), preload);
  private readonly manifests: ManifestStore;
  private readonly reports: ReportBuilder;
  private readonly queries: LedgerQueries;
  private readonly statsKeeper: StatsKeeper;
  /** Perceptual identifiers of use items: those of uses below `similarTo`, fed as they are indexed. */
  private readonly similar = new UseSimilarity();
  private similarTo = 0;
  private readonly verify: Ed25519Verify;
  private readonly now: () => number;
  private readonly admission = new Serial();
  private readonly policyFeed = new Serial();
  private readonly rounds = new Serial();
  private readonly indexing = new Serial();
  /** The index run that will start once the current one ends, if one was asked for. */
  private nextIndexRun: Promise<void> | undefined;
  private indexed = 0;
  /** Entries [0, fed) went through the policy feed (records or not). */
  private fed: number;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private roundActive = false;
  private closed = false;
  private inFlight = new Set<Promise<unknown>>();
  private readonly useListeners: UseListener[] = [];
  private readonly claimListeners: ClaimListener[] = [];
  private checkpointWaiters: Array<{ index: number; resolve: (c: SignedCheckpoint) => void }> = [];
  /** Records appended by this process and not yet indexed: saves reading and parsing them again. */
  private readonly recent = new Map<number, ParsedRecord>();
  /** Background work whose latest run failed, with why and since when (cleared by a run that succeeds). */
  private readonly failures = new Map<BackgroundWork, BackgroundFailure>();
  /**
   * Manifest roots named by admitted records whose append is not yet durable, with how many:
   * not yet claimed, but a sweep must not remove them (sweepManifests).
   */
  private readonly claiming = new Map<string, number>();
  private readonly sweeps = new Serial();
  /** The log's key as records name it: the author of its clock records. */
  private readonly clockKey: KeyRef | undefined;
  /**
   * Clock records in the log, in log order, from the last one a checkpoint named on: what the
   * next checkpoint's time line is read from (checkpointExtensions).
   */
  private clocks: LogClock[] = [];
  /** Appends of clock records not yet settled, each noting its index in `clocks` when done. */
  private readonly clockAppends = new Set<Promise<void>>();
  /** The time of the last clock record written (or found in the log on start). */
  private clockTime: string | undefined;
  /** The sweep that will start once the current one ends, if one was asked for. */
  private nextSweep: Promise<void> | undefined;
  private sweepTimer: ReturnType<typeof setInterval> | undefined;

  constructor(
    readonly log: Log,
    private readonly opts: LedgerOptions,
    private readonly hasher: Hasher,
    private readonly facts: StoredPolicyFacts,
  ) {
    this.space = opts.store.space('ledger');
    this.clockKey = opts.signer.publicKey && formatKeyRef(opts.signer.publicKey);
    if (opts.clockRecords && !this.clockKey) throw new LedgerError('bad-option', 'clock records need a signer that knows its public key', 'signer');
    this.policy = new ConsentPolicy({ hasher, facts, size: facts.fed, ...(this.clockKey ? { clockKey: this.clockKey } : {}) });
    this.fed = facts.fed;
    this.verify = opts.verify ?? nodeEd25519Verify;
    this.now = opts.now ?? Date.now;
    this.manifests = new ManifestStore(this.space, opts.hashManifestSubtrees, { limits: opts.manifests, now: this.now });
    this.reports = new ReportBuilder(log, this.runPolicy, this.manifests, this.now);
    this.queries = new LedgerQueries({ space: this.space, store: opts.store, policy: this.runPolicy, reports: this.reports, now: this.now, indexed: () => this.indexed, similar: this.similar });
    this.statsKeeper = new StatsKeeper(this.runPolicy, facts, this.manifests, this.space, this.now, (run) => this.track('stats', run));
    log.onIntegrated((round) => {
      this.statsKeeper.checkpoint(round.to);
      this.wakeCheckpointWaiters(round);
    });
  }

  get indexedSize(): number {
    return this.indexed;
  }

  get failing(): BackgroundFailure[] {
    return [...this.failures.values()];
  }

  /** Keeps how a run of background work ends: a failure (since when, latest cause) until a run succeeds. */
  private track(work: BackgroundWork, run: Promise<void>): Promise<void> {
    return run.then(
      () => void this.failures.delete(work),
      (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        const since = this.failures.get(work)?.since ?? new Date(this.now()).toISOString();
        this.failures.set(work, { work, message, since });
      },
    );
  }

  async start(): Promise<void> {
    // Before the policy feed: it claims manifests, which updates what open() reads.
    await this.manifests.open();
    const stored = await this.space.get(indexedKey);
    this.indexed = stored ? readU64(stored) : 0;
    // Tallies judged under rules the policy's facts no longer follow are counted again.
    if (this.facts.rebuilt) await this.space.write([{ key: verdictsKey, value: null }], { durable: false });
    await this.statsKeeper.open(this.indexed);
    await this.syncPolicy(this.log.sequencedSize);
    const clock = this.policy.clock;
    if (clock) {
      this.clocks = [clock];
      this.clockTime = clock.time;
    }
    // Not before: the tallies judge uses by the policy's facts, which may lag the stored N.
    this.statsKeeper.indexedTo(this.indexed);
    await this.rebuildSimilarity();
    await this.indexing.run(() => this.indexUpTo(this.log.checkpoint.checkpoint.size, false));
    this.schedule();
    // On start-up too (manifests that came due while the server was down, data of uploads cut
    // off by a crash). A failed sweep is kept for /healthz (track) and retried at the next tick.
    const sweep = () => void this.sweepManifests().catch(() => undefined);
    sweep();
    this.sweepTimer = setInterval(sweep, this.opts.manifests?.sweepIntervalMs ?? 60_000);
    this.sweepTimer.unref?.();
  }

  // ---- the policy feed -------------------------------------------------------------------

  /**
   * Applies sequenced entries [fed, size) to the policy, in log order. Its facts are stored by
   * each integration round (round()), and here only when a long catch-up has piled up many.
   */
  private syncPolicy(size: number): Promise<void> {
    return this.policyFeed.run(async () => {
      for (let at = this.fed; at < size; ) {
        const count = Math.min(READ_PAGE, size - at);
        const records = await this.recordsAt(at, count);
        // Claims first: a page the policy has learnt (and may store as fed) has its claims stored.
        for (const { record } of records) {
          if (record?.payload.type === 'training-use' && record.payload.manifest) await this.manifests.claim(fromHex(record.payload.manifest.root)!);
        }
        for (const { index, record } of records) {
          if (record) await this.facts.run(() => this.policy.apply(index, record));
        }
        at += count;
        this.fed = at;
        if (this.facts.waitingSize >= FLUSH_WAITING) await this.facts.flush();
      }
    });
  }

  /** Feeds the similarity index the items of the uses already indexed (it lives in memory). */
  private async rebuildSimilarity(): Promise<void> {
    for await (const useIndex of this.facts.useIndexes()) {
      if (useIndex >= this.indexed) break;
      const use = await this.runPolicy((p) => p.use(useIndex));
      if (use) await this.addToSimilarity(useIndex, use.record);
    }
    this.similarTo = this.indexed;
  }

  /**
   * Adds an indexed training use's items to the similarity index (a manifest's items are read from
   * the store), each perceptual identifier at the first item of the use naming it, as indexing does.
   */
  private async addToSimilarity(index: number, record: TrainingUseRecord): Promise<void> {
    let position = 0;
    const named = new NamedInUse((record.items?.length ?? record.manifest!.count) * 2, (id) => namedEarlier(this.space, id, index, position));
    const add = async (at: number, item: UseItem) => {
      const perceptual = item.work.filter(isPerceptual);
      if (perceptual.length === 0) return;
      position = at;
      const checked = named.fresh(perceptual);
      const fresh = Array.isArray(checked) ? checked : await checked;
      if (fresh.length > 0) this.similar.addItem(index, at, item, fresh);
    };
    if (record.items) {
      for (const [at, item] of record.items.entries()) await add(at, item);
      return;
    }
    // Admission stored the manifest before the record; one missing (a store rebuilt without its
    // uploads) has no items to index, as in the query index.
    for await (const { position: at, bytes } of this.manifests.items(fromHex(record.manifest!.root)!)) await add(at, decodeManifestItem(bytes));
  }

  /** The records at [first, first+count): from `recent` when all are there, else read and parsed. */
  private async recordsAt(first: number, count: number): Promise<Array<{ index: number; record: ParsedRecord | undefined }>> {
    const cached = Array.from({ length: count }, (_, i) => ({ index: first + i, record: this.recent.get(first + i) }));
    if (cached.every((c) => c.record)) return cached;
    const entries = await this.opts.store.readEntries(first, count);
    return entries.map((entry, i) => ({ index: first + i, record: parseTrusted(entry) }));
  }

  // ---- admission ---------------------------------------------------------------------------

  submit(envelopes: Uint8Array[]): Promise<SubmitResult[]> {
    if (this.closed) return Promise.reject(new LedgerError('closed', 'the ledger is closed'));
    const job = this.submitOpen(envelopes);
    this.inFlight.add(job);
    void job.finally(() => this.inFlight.delete(job)).catch(() => undefined);
    return job;
  }

  private async submitOpen(envelopes: Uint8Array[]): Promise<SubmitResult[]> {
    if (!Array.isArray(envelopes)) throw new LedgerInputError('bad-field', 'must be a list of envelopes', 'records');
    const decoded = envelopes.map((entry, i) => withField(i, () => decodeRecord(entry)));
    const checks = decoded.flatMap((d, i) => d.signatures.map((check) => ({ ...check, field: `[${i}].${check.field}` })));
    const verified = this.opts.verifyBatch ? await this.opts.verifyBatch(checks) : checks.map((c) => safeVerify(this.verify, c));
    const failed = checks.findIndex((_, i) => !verified[i]);
    if (failed >= 0) throw new LedgerInputError('bad-signature', checks[failed].problem, checks[failed].field);
    const records = decoded.map((d) => d.record);
    // Checks and append run one submission at a time, so each sees the log as it will append
    // to it; the append itself is only enqueued here, so concurrent submissions still share
    // one durable write (the log's group commit).
    const appended = await this.admission.run(async () => {
      await this.syncPolicy(this.log.sequencedSize);
      for (const [i, record] of records.entries()) await this.admit(i, record);
      const clock = this.nextClockRecord();
      const batch = clock ? [clock, ...records] : records;
      const results = this.log.append(batch.map((r) => r.entryBytes));
      this.holdClaims(records, results);
      if (clock) this.noteClockAppend(clock, results);
      return { results, batch };
    });
    const { batch } = appended;
    const all = await appended.results;
    all.forEach((r, i) => {
      if (!r.duplicate && r.index >= this.indexed) this.recent.set(r.index, batch[i]);
    });
    // The clock record is the log's, not the submitter's: it is not among their results.
    const results = all.slice(batch.length - records.length);
    this.schedule(0);
    return results.map((r) => ({ index: r.index, leafHash: toHex(r.leafHash), duplicate: r.duplicate }));
  }

  /** Keeps the manifests `records` name from the sweep until their append has ended (durable: the feed claims them; failed: they are not claimed). */
  private holdClaims(records: ParsedRecord[], append: Promise<unknown>): void {
    const roots = records.flatMap((r) => (r.payload.type === 'training-use' && r.payload.manifest ? [r.payload.manifest.root] : []));
    if (roots.length === 0) return;
    for (const root of roots) this.claiming.set(root, (this.claiming.get(root) ?? 0) + 1);
    const release = () => {
      for (const root of roots) {
        const left = this.claiming.get(root)! - 1;
        if (left === 0) this.claiming.delete(root);
        else this.claiming.set(root, left);
      }
    };
    append.then(release, release);
  }

  private async admit(i: number, record: ParsedRecord): Promise<void> {
    const problem = await this.admissionProblem(record);
    if (!problem) return;
    // An identical record already in the log is a duplicate, whatever the log looks like now.
    if ((await this.log.findByLeafHash(this.hasher.hashLeaf(record.entryBytes))) !== undefined) return;
    throw new AdmissionError(problem.code, bareMessage(problem), `[${i}].${problem.field}`);
  }

  private async admissionProblem(record: ParsedRecord): Promise<LedgerError | undefined> {
    if (record.payload.type === 'clock') return new LedgerError('clock-record', 'clock records are written by the log itself', 'payload.type');
    const skew = this.clockSkewProblem(record);
    if (skew) return skew;
    const p = record.payload;
    if (p.type === 'training-use' && p.manifest) {
      const count = await this.manifests.count(fromHex(p.manifest.root)!);
      if (count === undefined) return new LedgerError('manifest-missing', `manifest ${p.manifest.root} must be uploaded (POST /manifests) before the record`, 'payload.manifest.root');
      if (count !== p.manifest.count) return new LedgerError('manifest-mismatch', `manifest ${p.manifest.root} has ${count} items, the record says ${p.manifest.count}`, 'payload.manifest.count');
    }
    return this.runPolicy((p) => p.admissionProblem(record));
  }

  /** A claimed time further than maxClockSkewMs from the server's clock (both in the message). */
  private clockSkewProblem(record: ParsedRecord): LedgerError | undefined {
    const max = this.opts.maxClockSkewMs;
    if (max === undefined) return undefined;
    const claimed = record.payload.time;
    const now = this.now();
    // The record parsed, so its time is a valid record time.
    const apart = Math.abs(recordTimeSeconds(claimed)! * 1000 - now);
    if (apart <= max) return undefined;
    const serverTime = formatRecordTime(new Date(now));
    return new LedgerError('clock-skew', `claims ${claimed}, but the server's clock reads ${serverTime}: ${Math.round(apart / 1000)} s apart, more than the ${max / 1000} s allowed; sign with the current time`, 'payload.time');
  }

  // ---- the log's clock (spec/policy.md "The clock") -------------------------------------------

  /**
   * The clock record to append before the batch being admitted: one whenever the last was
   * written in an earlier second, so every entry follows a clock record of the second it was
   * admitted in. Its time never goes back: a server clock set back writes none until it has
   * caught up with the last.
   */
  private nextClockRecord(): ParsedRecord | undefined {
    if (!this.opts.clockRecords) return undefined;
    const seconds = Math.floor(this.now() / 1000);
    const time = formatRecordTime(new Date(seconds * 1000));
    // The last written, or a later one in the log (record times compare as strings).
    const last = [this.clockTime, this.policy.clock?.time].filter((t) => t !== undefined).sort().pop();
    if (last !== undefined && time <= last) return undefined;
    const entry = signRecord({ type: 'clock', v: 1, author: this.clockKey!, time }, this.opts.signer, { verify: this.verify });
    return parseTrusted(entry)!;
  }

  /** Notes the clock record's index once appended; a failed append takes its time back. */
  private noteClockAppend(clock: ParsedRecord, results: Promise<AppendResult[]>): void {
    const before = this.clockTime;
    const time = clock.payload.time;
    this.clockTime = time;
    const done = results.then(
      ([appended]) => {
        this.clocks.push({ index: appended.index, time });
      },
      () => {
        if (this.clockTime === time) this.clockTime = before;
      },
    );
    this.clockAppends.add(done);
    void done.finally(() => this.clockAppends.delete(done));
  }

  /**
   * The lines of the checkpoint of a tree of `size` entries: the caller's, and the time of the
   * last clock record in the tree (spec/notes.md §7.1). Clock records appended before
   * the tree was cut are waited for, so none is missed.
   */
  async checkpointExtensions(size: number): Promise<string[]> {
    await Promise.all([...this.clockAppends]);
    const inTree = this.clocks.filter((c) => c.index < size);
    const last = inTree[inTree.length - 1];
    if (last) this.clocks = this.clocks.slice(inTree.length - 1);
    return [...(this.opts.extensions?.() ?? []), ...(last ? [formatLogTimeLine(last.time)] : [])];
  }

  // ---- integration loop ------------------------------------------------------------------

  /**
   * Plans the next round in `delay` ms (sooner replaces later). While a round runs nothing is
   * planned: the round plans the next one when it ends, so appends arriving meanwhile are
   * integrated together instead of in one round each.
   */
  private schedule(delay = this.opts.integrateIntervalMs ?? 50): void {
    if (this.closed || this.roundActive) return;
    if (this.timer && delay > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.roundActive = true;
      // A failed round (store unavailable) is retried at the next tick; the error is kept for
      // /healthz rather than crashing the process as an unhandled rejection.
      void this.track('integration', this.rounds.run(() => this.round())).finally(() => {
        this.roundActive = false;
        this.schedule();
      });
    }, delay);
    this.timer.unref?.();
  }

  /**
   * One round: integrate if entries are pending. Indexing follows on its own (index()), so the
   * next checkpoint never waits for the index or the policy's flush: under load that wait was
   * most of a round, and every submission waiting for a checkpoint paid it.
   */
  private async round(): Promise<void> {
    await this.integratePending();
    // A failed run (store unavailable) is asked for again by the next round.
    if (this.indexed < this.log.checkpoint.checkpoint.size || this.facts.waitingSize > 0) void this.track('indexing', this.index());
  }

  private async integratePending(): Promise<void> {
    if (this.log.sequencedSize > this.log.checkpoint.checkpoint.size) await this.log.integrate();
  }

  /**
   * Indexes up to the checkpoint, then stores the policy's waiting facts (off the admission
   * path: a flush is a durable write, and admissions must not wait for one). Runs one at a time;
   * calls during a run are answered by one more run after it.
   */
  private index(): Promise<void> {
    this.nextIndexRun ??= this.indexing.run(async () => {
      this.nextIndexRun = undefined;
      await this.indexUpTo(this.log.checkpoint.checkpoint.size, true);
      await this.facts.flush();
    });
    return this.nextIndexRun;
  }

  private async indexUpTo(size: number, notify: boolean): Promise<void> {
    if (size <= this.indexed) return;
    await this.syncPolicy(size);
    const writer = new IndexWriter(this.space, this.manifests, (uses) => this.queries.written(uses));
    const items: FreshItem[] = [];
    /** Grants indexed in this run, for claim notices. */
    const grants: number[] = [];
    const listening = notify && this.useListeners.length > 0;
    // Only items someone claims are kept for notification: a manifest may have millions.
    const keepIfClaimed = async (it: FreshItem) => void ((await this.claimantsOf(it)).length > 0 && items.push(it));
    // Items that name only works an earlier item of their use named are not seen here: the index,
    // the similarity index and the notifications count them once per use (the stats too).
    const onItem = (it: FreshItem) => {
      if (it.useIndex >= this.similarTo) this.similar.addItem(it.useIndex, it.position, it.item, it.fresh);
      return listening ? keepIfClaimed(it) : undefined;
    };
    for (let at = this.indexed; at < size; ) {
      const count = Math.min(READ_PAGE, size - at);
      const records = await this.recordsAt(at, count);
      at += count;
      await writer.indexRun(records, at, onItem);
      if (notify && this.claimListeners.length > 0) for (const { index, record } of records) if (record?.payload.type === 'consent-grant') grants.push(index);
      for (const { index } of records) this.recent.delete(index);
      this.indexed = at;
      this.similarTo = Math.max(this.similarTo, at);
      // The verdict tallies follow on their own: judging never holds back the index.
      this.statsKeeper.indexedTo(at);
    }
    for (const it of items) await this.notify(it);
    for (const grantIndex of grants) await this.notifyClaims(grantIndex);
  }

  /** Tells the identities whose claims a new grant meets (spec/api.md, `claim` events). */
  private async notifyClaims(grantIndex: number): Promise<void> {
    const grant = await this.runPolicy((p) => p.grant(grantIndex));
    if (!grant) return;
    // Its works' grant lists are loaded first: a grant may name a thousand works.
    const notices = await this.runPolicy((p) => p.claimsBefore(grantIndex), { works: grant.ids });
    for (const { work, claimedBy } of notices) {
      const claim: ClaimNotice = { grantIndex, work, claimant: grant.identity, author: grant.author, claimedBy };
      for (const listener of [...this.claimListeners]) {
        try {
          listener(claim);
        } catch {
          // A failing listener must not stop indexing or the other listeners.
        }
      }
    }
  }

  onClaim(listener: ClaimListener): () => void {
    this.claimListeners.push(listener);
    return () => {
      const at = this.claimListeners.indexOf(listener);
      if (at >= 0) this.claimListeners.splice(at, 1);
    };
  }

  private async notify(it: FreshItem): Promise<void> {
    const claimants = await this.claimantsOf(it);
    const work = it.fresh[0];
    for (const report of await this.reports.reports(it, work)) {
      for (const listener of [...this.useListeners]) {
        try {
          listener(report, claimants);
        } catch {
          // A failing listener must not stop indexing or the other listeners.
        }
      }
    }
  }

  /**
   * Who is told of a new use item: the claimants of the works it is the first in its use to name,
   * then creators of works those nearly copy (rule 1a).
   */
  private claimantsOf(it: FreshItem): Promise<string[]> {
    const named = { ...it.item, work: it.fresh as UseItem['work'] };
    return this.runPolicy((p) => [...new Set([...p.claimants(named, it.useIndex), ...p.nearClaimants(named, it.useIndex)])]);
  }

  onUse(listener: UseListener): () => void {
    this.useListeners.push(listener);
    return () => {
      const at = this.useListeners.indexOf(listener);
      if (at >= 0) this.useListeners.splice(at, 1);
    };
  }

  waitForCheckpoint(index: number): Promise<SignedCheckpoint> {
    if (index < this.log.checkpoint.checkpoint.size) return Promise.resolve(this.log.checkpoint);
    if (this.closed) return Promise.reject(new LedgerError('closed', 'the ledger is closed'));
    this.schedule(0);
    return new Promise((resolve) => this.checkpointWaiters.push({ index, resolve }));
  }

  private wakeCheckpointWaiters(round: IntegrationRound): void {
    const ready = this.checkpointWaiters.filter((w) => w.index < round.to);
    this.checkpointWaiters = this.checkpointWaiters.filter((w) => w.index >= round.to);
    for (const w of ready) w.resolve(round.checkpoint);
  }

  /** Clears the query index and rebuilds it from the log. */
  reindex(): Promise<void> {
    return this.indexing.run(async () => {
      // The tallies' follower reads the index and writes V: stopped before they are cleared.
      await this.statsKeeper.pause();
      try {
        for (const tag of INDEX_TAGS) await this.space.clear(prefixRange(Uint8Array.of(tag)));
      } finally {
        this.statsKeeper.cleared();
      }
      this.queries.cleared();
      this.indexed = 0;
      await this.indexUpTo(this.log.checkpoint.checkpoint.size, false);
    });
  }

  // ---- manifests ---------------------------------------------------------------------------

  putManifest(body: AsyncIterable<Uint8Array>, expected: { root: string; count: number }, client?: string): Promise<ManifestPut> {
    return this.manifests.put(body, expected, client);
  }

  /**
   * Removes unclaimed manifests whose claim is late (spec/storage.md "Unclaimed manifests"), in
   * steps of at most SWEEP_BATCH, then deletes removed and abandoned data, a bounded piece per
   * step. A manifest is removed only while no admission runs, after the policy feed has claimed
   * every root the log names, and if no record naming it is still being appended: so a use
   * either was admitted before (and its manifest stays) or is admitted after (and is refused:
   * manifest-missing).
   */
  sweepManifests(): Promise<void> {
    // Calls while a sweep runs share the one after it: timer ticks never pile up behind a long deletion.
    if (this.nextSweep) return this.nextSweep;
    const run = this.sweeps.run(async () => {
      this.nextSweep = undefined;
      while (!this.closed) {
        const now = this.now();
        const due = await this.manifests.expired(now, SWEEP_BATCH);
        if (due.length === 0) break;
        const removed = await this.admission.run(async () => {
          const inFlight = new Set(this.claiming.keys());
          // Read after the snapshot: a record not in it was durable before, so the feed covers it.
          await this.syncPolicy(this.log.sequencedSize);
          return this.manifests.removeExpired(due.filter((d) => !inFlight.has(d.root)), now);
        });
        // Only roots whose uses are being appended are due: the next sweep finds them claimed.
        if (removed === 0) break;
        await new Promise((r) => setImmediate(r));
      }
      while (!this.closed && (await this.manifests.collectGarbage())) await new Promise((r) => setImmediate(r));
    });
    this.nextSweep = run;
    const tracked = this.track('manifest-sweep', run);
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
    return run;
  }

  async getManifest(root: string): Promise<ManifestInfo | undefined> {
    const rootBytes = parseRootHex(root);
    const count = await this.manifests.count(rootBytes);
    if (count === undefined) return undefined;
    const useIndexes: number[] = [];
    for await (const [key] of this.space.range(prefixRange(manifestUseKey(rootBytes, 0).subarray(0, 33)))) useIndexes.push(readU64(key, 33));
    return { root, count, useIndexes, expires: this.manifests.expires(root) };
  }

  manifestItem(root: string, position: number): Promise<ManifestItemProof | undefined> {
    return this.manifests.proof(parseRootHex(root), position);
  }

  async manifestBytes(root: string): Promise<{ count: number; bytes: AsyncIterable<Uint8Array> } | undefined> {
    const rootBytes = parseRootHex(root);
    const count = await this.manifests.count(rootBytes);
    if (count === undefined) return undefined;
    const chunks = this.manifests.chunks(rootBytes, count);
    const header = encodeManifestHeader(count);
    // Stored chunks are 12.5 KB; a response written in pieces of about 256 KiB costs fewer writes.
    async function* bytes(): AsyncIterable<Uint8Array> {
      let piece: Uint8Array[] = [header];
      let pieceBytes = 0;
      for await (const chunk of chunks) {
        piece.push(chunk);
        if ((pieceBytes += chunk.length) < 1 << 18) continue;
        yield concat(...piece);
        piece = [];
        pieceBytes = 0;
      }
      if (piece.length > 0) yield concat(...piece);
    }
    return { count, bytes: bytes() };
  }

  // ---- queries (src/ledger/queries.ts) ---------------------------------------------------

  /** GET /identities/<key>: what the log holds about who is behind the key (src/ledger/identities.ts). */
  identity(key: KeyRef): Promise<IdentityClaim | undefined> {
    return identityClaim(this.runPolicy, async (index) => (await this.opts.store.readEntries(index, 1))[0], key);
  }

  usesOfWork(workId: string, page?: PageRequest<UseRef>): Promise<UsePage> {
    return this.queries.usesOfWork(workId, page);
  }

  consentsOfWork(workId: string, page?: PageRequest<number>): Promise<ConsentPage> {
    return this.queries.consentsOfWork(workId, page);
  }

  /** GET /works/similar: works named by grants or use items within `max` of a perceptual identifier. */
  async similarWorks(id: string, max?: number): Promise<SimilarWork[]> {
    const query = similarQuery(id, max);
    const visible = (index: number) => index < this.indexed;
    const fromGrants = await this.runPolicy((p) =>
      p
        .nearGrantsOf(query.id, query.max)
        .filter((m) => visible(m.grantIndex))
        .map((m) => ({ work: workNaming(p.grant(m.grantIndex)!.record.works, m.id), id: m.id, distance: m.distance })),
    );
    const fromUses = this.similar.near(query.id, query.max).filter((u) => visible(u.useIndex));
    return mergeSimilar([...fromGrants, ...fromUses], (work) => this.queries.workCounts(work));
  }

  stats(): Promise<LedgerStats> {
    return this.statsKeeper.stats(this.log.checkpoint.checkpoint.size);
  }

  usesOfCreator(creatorKey: string, page?: PageRequest<UseRef>): Promise<CreatorUsePage> {
    return this.queries.usesOfCreator(creatorKey, page);
  }

  usesSince(filter: { creator?: string; works?: string[] }, after: UseRef | null, limit?: number): Promise<UsePage> {
    return this.queries.usesSince(filter, after, limit);
  }

  model(builder: string, name: string, version: string): Promise<unknown | undefined> {
    return this.queries.model(builder, name, version);
  }

  // ---- shutdown ----------------------------------------------------------------------------

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    clearInterval(this.sweepTimer);
    await Promise.allSettled([...this.inFlight]);
    // It stops after its batch in flight; the tallies resume from the stored V when reopened.
    await this.statsKeeper.close();
    try {
      // Finish the current round, then a last one for what was appended meanwhile, and index it all.
      await this.rounds.run(() => this.integratePending());
      await this.index();
    } finally {
      for (const w of this.checkpointWaiters) w.resolve(this.log.checkpoint);
      this.checkpointWaiters = [];
      await this.log.close();
    }
  }
}

/** Identifiers the similarity index holds (phash:, tcode:). */
const isPerceptual = (id: string) => nearCode(id) !== undefined;

/** The sha256 identifier of the work (in a grant's list of works) that `id` belongs to. */
function workNaming(works: string[][], id: string): string {
  const ids = works.find((w) => w.includes(id)) ?? [id];
  return ids.find((w) => w.startsWith('sha256:')) ?? id;
}

/** Runs a parse of envelope i, naming the envelope in the error's field. */
function withField<T>(i: number, run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (e instanceof RecordError) throw new LedgerInputError(e.code, bareMessage(e), `[${i}].${e.field || 'entry'}`);
    throw e;
  }
}


/** The message without the "field: " prefix LedgerError adds. */
function bareMessage(e: LedgerError): string {
  return e.field ? e.message.slice(e.field.length + 2) : e.message;
}

function safeVerify(verify: Ed25519Verify, check: SignatureCheck): boolean {
  try {
    return verify(check.publicKey, check.message, check.signature);
  } catch {
    return false;
  }
}

/**
 * The consent policy's facts (src/policy/facts.ts) kept in the store, so that the server's
 * memory does not grow with the log (spec/storage.md, "The policy's key-value space").
 *
 *  - Per-record facts are keys; the records themselves are read back from the log. Memory holds
 *    bounded caches of them, and reads that miss throw FactMissing: `run` loads the fact and
 *    runs the operation again (the policy reads before it writes, so that is safe).
 *  - Per-creator-key and per-model facts are keys too, and all of them are loaded on open.
 *  - Changes wait in memory until `flush`, which writes them and the fed size `F` in one batch:
 *    the stored facts always describe exactly the entries [0, F), and on open the ledger applies
 *    the entries from F on again. Until then reads see the waiting changes. A flush does not
 *    stop the policy: changes made while it writes wait for the next one.
 */
import { Lru } from '../log/lru.js';
import {
  type AttestationState,
  type Compromise,
  type ConsentPolicy,
  type DelegationState,
  type RulingState,
  type GrantState,
  type LineageEdge,
  type LogClock,
  type PolicyFacts,
  type RetirementState,
  type RevocationState,
  type Rotation,
  type UseState,
  FactMissing,
  ResidentReads,
  grantAuthority,
  newGrantState,
  newUseState,
} from '../policy/index.js';
import type { ConsentGrantRecord, KeyRef, ModelId, RecordType, TrainingUseRecord } from '../records/index.js';
import { RECORD_TYPES, fromHex } from '../records/index.js';
import type { KeyValueSpace } from '../store/index.js';
import { concat, prefixRange, readU64, u64 } from './keys.js';
import { parseTrusted } from './trusted.js';

/** Where the facts read records back: the log's entries. */
export interface LogEntries {
  readEntry(index: number): Promise<Uint8Array | undefined>;
  findByLeafHash(leafHash: Uint8Array): Promise<number | undefined>;
}

/** Key tags of the policy's space (one ASCII byte each, as in the ledger's space). */
/**
 * The version of the consent rules (spec/policy.md) the stored facts follow. Bump it when a rule
 * changes what admission links or applies (supersessions, revocations): a store derived under
 * another version is rebuilt from the log on open. 2: rotated-away keys supersede nothing and
 * revoking a superseded grant applies nothing (issue 18). 3: validity windows are judged by
 * logged time, from the log's clock records (spec/policy.md "The clock"; uses, revocations and
 * retirements keep theirs). Also in 3: next-key commitments and self-declared compromises (the
 * N and v facts), and rotations by a committed key without the old key's signature.
 */
export const POLICY_RULES = 3;

export const POLICY_TAG = {
  fed: 0x46, // F → u64 fed size
  rules: 0x52, // R → u32 POLICY_RULES: the rules the stored facts were derived under
  count: 0x63, // c ‖ record type → u64 records of that type
  workGrant: 0x67, // g ‖ work id ‖ 0x00 ‖ u64 grantIndex
  identityWork: 0x77, // w ‖ identity ‖ 0x00 ‖ u64 grantIndex ‖ u32 position in the grant ‖ work id
  modelUse: 0x75, // u ‖ model id ‖ 0x00 ‖ u64 useIndex
  use: 0x55, // U ‖ u64 useIndex → its logged time (empty: logged before the first clock record)
  clock: 0x43, // C → JSON {index, time}: the last clock record by the log's key in [0, F)
  grantChanges: 0x78, // x ‖ u64 grantIndex → JSON {supersedes?, supersededBy?, revocations?}
  creatorKey: 0x6b, // k ‖ key
  identity: 0x69, // i ‖ key → identity
  rotation: 0x72, // r ‖ from key → JSON {rotationIndex, to}
  nextKey: 0x4e, // N ‖ key → its next-key commitment (64 hex)
  compromise: 0x76, // v ‖ key → JSON {since, recordIndex, to}: the key's records from `since` on are void
  lineage: 0x6c, // l ‖ u64 lineageIndex → JSON {parent, child, relation}
  retirement: 0x74, // t ‖ u64 retirementIndex → JSON {model, effective, status, loggedAt?}
  nearId: 0x6e, // n ‖ u64 grantIndex ‖ perceptual id
  attestation: 0x41, // A ‖ u64 attestationIndex → JSON AttestationState (its revocation included)
  creatorRecord: 0x50, // P ‖ key → u64 index of the key's latest creator record (its name and claims)
  delegation: 0x44, // D ‖ u64 delegationIndex → JSON DelegationState (its revocation index included)
  ruling: 0x4a, // J ‖ u64 rulingIndex → JSON {author, owner, work}
} as const;

type Fact = { kind: 'record'; index: number } | { kind: 'list'; key: string } | { kind: 'leaf'; hex: string };
type Op = { key: Uint8Array; value: Uint8Array };
/** What is known of one log index: its record type (undefined: not a record) and, for a grant, its state. */
type KnownEntry = { type: RecordType | undefined; grant?: GrantState };
type ListKind = 'g' | 'w' | 'u';

const utf8 = new TextEncoder();
const text = new TextDecoder();
const EMPTY = new Uint8Array(0);
/** Grant lists a preload reads at once (each is a store iterator). */
const PRELOAD_READS = 8;
const json = (v: unknown) => utf8.encode(JSON.stringify(v));
const parseJson = <T>(bytes: Uint8Array) => JSON.parse(text.decode(bytes)) as T;
const tagged = (tag: number, ...parts: Array<Uint8Array | number[]>) => concat([tag], ...parts);
const u32 = (n: number) => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const readU32 = (b: Uint8Array) => ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
const named = (tag: number, name: string) => tagged(tag, utf8.encode(name), [0]);

/** Sizes of the caches; the defaults hold ~100 MB at most. */
export interface PolicyCacheSizes {
  records?: number;
  uses?: number;
  lists?: number;
  leaves?: number;
}

/** Per-creator-key and per-model reads come from ResidentReads (loaded on open). */
export class StoredPolicyFacts extends ResidentReads implements PolicyFacts {
  private readonly counts = new Map<RecordType, number>();
  private readonly records: Lru<number, KnownEntry>;
  private readonly uses: Lru<number, UseState>;
  /** Lists as stored (changes not yet stored are in `waiting` and `flushing`). */
  private readonly lists: Lru<string, Array<number | string>>;
  /** Leaf hash (hex) → record index, as found in the log (answers of none are only pinned). */
  private readonly leaves: Lru<string, number>;

  /** Changes not yet written, and those a flush is writing. */
  private waiting = newChanges();
  private flushing: Changes | undefined;
  private flushes: Promise<void> = Promise.resolve();
  /** Loads reading the store now, and the pins of operations between attempts (see `overtake`). */
  private readonly loading = new Set<Loading>();
  private readonly pinned = new Set<Pins>();
  /** The facts loaded for the operation `run` is running now (see `run`). */
  private pins: Pins | undefined;
  private applied: number;
  private flushed: number;

  private constructor(
    private readonly space: KeyValueSpace,
    private readonly entries: LogEntries,
    fed: number,
    sizes: PolicyCacheSizes,
  ) {
    super();
    this.applied = fed;
    this.flushed = fed;
    this.records = new Lru(sizes.records ?? 65_536);
    this.uses = new Lru(sizes.uses ?? 512);
    this.lists = new Lru(sizes.lists ?? 65_536);
    this.leaves = new Lru(sizes.leaves ?? 16_384);
  }

  /** Opens the facts in `space`, loading the per-creator-key and per-model ones. */
  static async open(space: KeyValueSpace, entries: LogEntries, sizes: PolicyCacheSizes = {}): Promise<StoredPolicyFacts> {
    let fed = await space.get(Uint8Array.of(POLICY_TAG.fed));
    const rules = await space.get(Uint8Array.of(POLICY_TAG.rules));
    const rebuilt = fed != null && (rules == null || readU32(rules) !== POLICY_RULES);
    if (rebuilt) {
      // Facts derived under other rules (which supersessions link, which revocations apply)
      // would keep answering as those rules did: drop them and feed the whole log again.
      await space.clear({ gte: Uint8Array.of(0), lt: Uint8Array.of(0xff) });
      fed = undefined;
    }
    const facts = new StoredPolicyFacts(space, entries, fed ? readU64(fed) : 0, sizes);
    facts.rebuilt = rebuilt;
    await facts.loadResident();
    return facts;
  }

  /** Whether open() dropped facts derived under other rules (what was judged under them is stale too). */
  rebuilt = false;

  /** Entries [0, fed) have been applied (on open: the size the stored facts describe). */
  get fed(): number {
    return this.applied;
  }

  /**
   * Runs a policy operation, loading what it finds missing, until it completes. What it loaded
   * stays pinned for it until then, so an operation that reads more facts than the caches hold
   * still completes (a flush that changes a pinned fact unpins it: see `overtake`).
   */
  async run<T>(operation: () => T, preload?: Preload): Promise<T> {
    let pins: Pins | undefined;
    try {
      if (preload?.works) {
        this.pinned.add((pins = newPins()));
        await this.preloadWorks(preload.works, pins);
      }
      for (;;) {
        this.pins = pins;
        try {
          return operation();
        } catch (err) {
          if (!(err instanceof FactMissing)) throw err;
          this.pins = undefined;
          if (!pins) this.pinned.add((pins = newPins()));
          await this.load(err.fact as Fact, pins);
        } finally {
          this.pins = undefined;
        }
      }
    } finally {
      if (pins) this.pinned.delete(pins);
    }
  }

  /**
   * Reads the grant lists of `works` the caches lack, pinned for one operation: one that reads
   * them all (judging a thousand items of distinct works) then runs once instead of once per
   * miss, each run repeating all it did before. They are not cached: a batch of works named
   * once would push out the lists the queries keep reading.
   */
  private async preloadWorks(works: Iterable<string>, pins: Pins): Promise<void> {
    const keys = new Set<string>();
    for (const id of works) {
      const key = 'g' + id;
      if (!this.lists.get(key) && !pins.lists.has(key)) keys.add(key);
    }
    const queue = [...keys];
    const worker = async () => {
      for (let key = queue.pop(); key !== undefined; key = queue.pop()) await this.load({ kind: 'list', key }, pins, false);
    };
    await Promise.all(Array.from({ length: Math.min(PRELOAD_READS, queue.length) }, worker));
  }

  /** Operations waiting for the next flush. */
  get waitingSize(): number {
    return this.waiting.ops.length + this.waiting.grants.size;
  }

  /**
   * Writes the changes made so far and the fed size F they bring the stored facts to, in one
   * batch. Flushes run one at a time; if the write fails, the changes wait for the next one.
   */
  flush(): Promise<void> {
    const next = this.flushes.then(() => this.flushOnce());
    this.flushes = next.catch(() => undefined);
    return next;
  }

  private async flushOnce(): Promise<void> {
    const changes = this.waiting;
    const fed = this.applied;
    if (fed <= this.flushed && changes.ops.length === 0 && changes.grants.size === 0) return;
    this.waiting = newChanges();
    this.flushing = changes;
    const ops = [...changes.ops];
    for (const grant of changes.grants.values()) {
      const altered = grantChanges(grant);
      if (altered) ops.push({ key: tagged(POLICY_TAG.grantChanges, u64(grant.index)), value: json(altered) });
    }
    for (const [type, n] of this.counts) ops.push({ key: named(POLICY_TAG.count, type), value: u64(n) });
    ops.push({ key: Uint8Array.of(POLICY_TAG.fed), value: u64(fed) }, { key: Uint8Array.of(POLICY_TAG.rules), value: Uint8Array.from(u32(POLICY_RULES)) });
    try {
      // Derived from the log: lost with a machine crash, the facts are fed again from the older F.
      await this.space.write(ops, { durable: false });
    } catch (err) {
      this.waiting = mergeChanges(changes, this.waiting);
      throw err;
    } finally {
      this.flushing = undefined;
    }
    this.flushed = fed;
    for (const grant of changes.grants.values()) {
      // A cached copy is now stale; a new grant is not cached: most are never read again soon,
      // and caching each would push out the ones queries do read.
      if (this.records.get(grant.index)) this.records.set(grant.index, { type: 'consent-grant', grant });
    }
    for (const [key, added] of changes.lists) this.lists.get(key)?.push(...added);
    this.overtake(changes);
  }

  /**
   * A flush has moved `changes` into the store and out of memory: a load that read the store
   * before may lack them, and so may a fact pinned from such a read. Both are read again.
   */
  private overtake(changes: Changes): void {
    const changed = (fact: Fact) => (fact.kind === 'record' ? changes.grants.has(fact.index) || changes.useTimes.has(fact.index) : fact.kind === 'list' && changes.lists.has(fact.key));
    for (const load of this.loading) if (changed(load.fact)) load.overtaken = true;
    for (const pins of this.pinned) {
      for (const index of pins.records.keys()) if (changes.grants.has(index)) pins.records.delete(index);
      for (const index of pins.uses.keys()) if (changes.useTimes.has(index)) pins.uses.delete(index);
      for (const key of pins.lists.keys()) if (changes.lists.has(key)) pins.lists.delete(key);
    }
  }

  /** Records of each type among the entries applied. */
  recordCounts(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  /** Indexes of the training uses applied, in log order, from log index `from` on. */
  async *useIndexes(from = 0): AsyncIterable<number> {
    const waiting = [...(this.flushing?.uses ?? []), ...this.waiting.uses];
    let last = from - 1;
    const range = { gte: tagged(POLICY_TAG.use, u64(from)), lt: Uint8Array.of(POLICY_TAG.use + 1) };
    for await (const [key] of this.space.range(range)) yield (last = readU64(key, 1));
    for (const index of waiting) if (index > last) yield index;
  }

  // ---- per record ----------------------------------------------------------------------

  recordType(index: number): RecordType | undefined {
    if (this.changedGrant(index)) return 'consent-grant';
    return this.known(index).type;
  }

  indexOfLeafHash(leafHashHex: string): number | undefined {
    const index = this.leaves.get(leafHashHex) ?? this.pins?.leaves.get(leafHashHex);
    if (index === undefined) throw new FactMissing({ kind: 'leaf', hex: leafHashHex } satisfies Fact);
    return index < 0 ? undefined : index;
  }

  grant(index: number): GrantState | undefined {
    return this.changedGrant(index) ?? this.known(index).grant;
  }

  use(index: number): UseState | undefined {
    const use = this.uses.get(index) ?? this.pins?.uses.get(index);
    if (use) return use;
    if (this.known(index).type !== 'training-use') return undefined;
    // Known as a use but gone from the (smaller) cache of uses: read it again.
    throw new FactMissing({ kind: 'record', index } satisfies Fact);
  }

  grantsOfWork(id: string): readonly number[] {
    return this.list('g', id) as number[];
  }

  worksOfIdentity(identity: KeyRef): string[] {
    return [...new Set(this.list('w', identity) as string[])];
  }

  usesOfModel(model: ModelId): readonly number[] {
    return this.list('u', model) as number[];
  }

  /** A grant as changed since the last completed flush. */
  private changedGrant(index: number): GrantState | undefined {
    return this.waiting.grants.get(index) ?? this.flushing?.grants.get(index);
  }

  private known(index: number): KnownEntry {
    const known = this.records.get(index) ?? this.pins?.records.get(index);
    if (known === undefined) throw new FactMissing({ kind: 'record', index } satisfies Fact);
    return known;
  }

  private list(kind: ListKind, name: string): ReadonlyArray<number | string> {
    const key = kind + name;
    const stored = this.lists.get(key) ?? this.pins?.lists.get(key);
    if (!stored) throw new FactMissing({ kind: 'list', key } satisfies Fact);
    const flushing = this.flushing?.lists.get(key);
    const waiting = this.waiting.lists.get(key);
    return flushing || waiting ? [...stored, ...(flushing ?? []), ...(waiting ?? [])] : stored;
  }

  // ---- changes ---------------------------------------------------------------------------

  /** The leaf hash is not kept: a lookup by leaf hash asks the log's dedup index. */
  addRecord(index: number, type: RecordType): void {
    this.applied = Math.max(this.applied, index + 1);
    this.counts.set(type, (this.counts.get(type) ?? 0) + 1);
    if (type !== 'consent-grant') this.records.set(index, { type });
  }

  addGrant(grant: GrantState): void {
    this.waiting.grants.set(grant.index, grant);
    const at = u64(grant.index);
    const identity = utf8.encode(grant.identity);
    let position = 0;
    for (const id of grant.ids) {
      this.append('g', id, grant.index, tagged(POLICY_TAG.workGrant, utf8.encode(id), [0], at));
      this.append('w', grant.identity, id, tagged(POLICY_TAG.identityWork, identity, [0], at, u32(position++), utf8.encode(id)));
    }
    for (const id of this.resident.addNearIds(grant)) this.put(tagged(POLICY_TAG.nearId, at, utf8.encode(id)));
  }

  updateGrant(grant: GrantState): void {
    this.waiting.grants.set(grant.index, grant);
  }

  addUse(use: UseState): void {
    this.uses.set(use.index, use);
    this.append('u', use.model, use.index, tagged(POLICY_TAG.modelUse, utf8.encode(use.model), [0], u64(use.index)));
    this.put(tagged(POLICY_TAG.use, u64(use.index)), use.loggedAt === undefined ? EMPTY : utf8.encode(use.loggedAt));
    this.waiting.uses.push(use.index);
    if (use.loggedAt !== undefined) this.waiting.useTimes.set(use.index, use.loggedAt);
  }

  addCreatorKey(key: KeyRef): void {
    if (this.resident.creatorKeys.has(key)) return;
    this.resident.creatorKeys.add(key);
    this.put(tagged(POLICY_TAG.creatorKey, utf8.encode(key)));
  }

  setIdentity(key: KeyRef, identity: KeyRef): void {
    this.resident.identities.set(key, identity);
    this.put(tagged(POLICY_TAG.identity, utf8.encode(key)), utf8.encode(identity));
  }

  setRotation(from: KeyRef, rotation: Rotation): void {
    this.resident.rotations.set(from, rotation);
    this.put(tagged(POLICY_TAG.rotation, utf8.encode(from)), json(rotation));
  }

  setNextKey(key: KeyRef, commitment: string): void {
    this.resident.nextKeys.set(key, commitment);
    this.put(tagged(POLICY_TAG.nextKey, utf8.encode(key)), utf8.encode(commitment));
  }

  setCompromise(key: KeyRef, compromise: Compromise): void {
    this.resident.compromises.set(key, compromise);
    this.put(tagged(POLICY_TAG.compromise, utf8.encode(key)), json(compromise));
  }

  addLineage(edge: LineageEdge): void {
    this.resident.addLineage(edge);
    this.put(tagged(POLICY_TAG.lineage, u64(edge.lineageIndex)), json({ parent: edge.parent, child: edge.child, relation: edge.relation }));
  }

  addRetirement(model: ModelId, retirement: RetirementState): void {
    this.resident.addRetirement(model, retirement);
    const { effective, status, loggedAt } = retirement;
    this.put(tagged(POLICY_TAG.retirement, u64(retirement.index)), json({ model, effective, status, loggedAt }));
  }

  /** Stored with the fed size F it belongs to (flush writes both in one batch), so a restart resumes the clock where F does. */
  setClock(clock: LogClock): void {
    this.resident.clock = clock;
    this.put(Uint8Array.of(POLICY_TAG.clock), json(clock));
  }

  addDelegation(delegation: DelegationState): void {
    this.resident.setDelegation(delegation);
    this.put(tagged(POLICY_TAG.delegation, u64(delegation.index)), json(delegation));
  }

  revokeDelegation(index: number, revokedAt: number): void {
    this.addDelegation({ ...this.resident.delegations.get(index)!, revokedAt });
  }

  addRuling(ruling: RulingState): void {
    this.resident.addRuling(ruling);
    this.put(tagged(POLICY_TAG.ruling, u64(ruling.index)), json({ author: ruling.author, owner: ruling.owner, work: ruling.work }));
  }

  setAttestation(attestation: AttestationState): void {
    this.resident.setAttestation(attestation);
    this.put(tagged(POLICY_TAG.attestation, u64(attestation.index)), json(attestation));
  }

  setCreatorRecord(key: KeyRef, index: number): void {
    this.resident.creatorRecords.set(key, index);
    this.put(tagged(POLICY_TAG.creatorRecord, utf8.encode(key)), Uint8Array.from(u64(index)));
  }

  private put(key: Uint8Array, value = EMPTY): void {
    this.waiting.ops.push({ key, value });
  }

  private append(kind: ListKind, name: string, value: number | string, key: Uint8Array): void {
    const listKey = kind + name;
    const waiting = this.waiting.lists.get(listKey);
    if (waiting) waiting.push(value);
    else this.waiting.lists.set(listKey, [value]);
    this.put(key);
  }

  // ---- loading ---------------------------------------------------------------------------

  /** `cache`: keep it in the caches too, not only pinned for the operation. */
  private async load(fact: Fact, pins: Pins, cache = true): Promise<void> {
    const loading: Loading = { fact, overtaken: false };
    this.loading.add(loading);
    try {
      const keep = await this.read(fact, cache);
      // Overtaken by a flush of this fact: read again rather than keep what may lack it.
      if (!loading.overtaken) keep(pins);
    } finally {
      this.loading.delete(loading);
    }
  }

  /** Reads a fact; the function returned caches it and pins it for one operation. */
  private async read(fact: Fact, cache: boolean): Promise<(pins: Pins) => void> {
    switch (fact.kind) {
      case 'record':
        return this.readRecord(fact.index);
      case 'list':
        return this.readList(fact.key, cache);
      case 'leaf':
        return this.readLeaf(fact.hex);
    }
  }

  private async readRecord(index: number): Promise<(pins: Pins) => void> {
    const [entry, changes] = await Promise.all([this.entries.readEntry(index), this.space.get(tagged(POLICY_TAG.grantChanges, u64(index)))]);
    const record = entry && index < this.applied ? parseTrusted(entry) : undefined;
    const type = record && (RECORD_TYPES as readonly string[]).includes(record.payload.type) ? record.payload.type : undefined;
    const storedTime = type === 'training-use' ? await this.space.get(tagged(POLICY_TAG.use, u64(index))) : undefined;
    return (pins) => {
      if (type === 'training-use') {
        // Not yet flushed: the time waits with the changes (a flush meanwhile overtakes this read).
        const loggedAt = storedTime?.length ? text.decode(storedTime) : (this.waiting.useTimes.get(index) ?? this.flushing?.useTimes.get(index));
        const use = newUseState(index, record!.payload as TrainingUseRecord, loggedAt);
        this.uses.set(index, use);
        pins.uses.set(index, use);
      }
      const grant = type === 'consent-grant' ? this.grantFrom(index, record!.payload as ConsentGrantRecord, changes) : undefined;
      const known = grant ? { type, grant } : { type };
      this.records.set(index, known);
      pins.records.set(index, known);
    };
  }

  /** A stored grant's state: its record, the identity and rotation facts, and its changes. */
  private grantFrom(index: number, record: ConsentGrantRecord, changes: Uint8Array | undefined): GrantState {
    // A key's identity and rotation never change once it has signed a grant (spec/policy.md,
    // key rotation), so what holds now held when the grant was applied.
    const rotation = this.resident.rotations.get(record.author);
    // Delegations are resident and keep their revocation index, so the authority decided when
    // the grant was applied is decided the same way now.
    const authority = grantAuthority(this, index, record);
    const grant = newGrantState(index, record, authority.identity, rotation && rotation.rotationIndex < index ? rotation : undefined, authority);
    return changes ? { ...grant, ...parseJson<GrantChanges>(changes) } : grant;
  }

  private async readList(key: string, cache: boolean): Promise<(pins: Pins) => void> {
    const kind = key[0] as ListKind;
    const prefix = named({ g: POLICY_TAG.workGrant, w: POLICY_TAG.identityWork, u: POLICY_TAG.modelUse }[kind], key.slice(1));
    const values: Array<number | string> = [];
    for await (const [k] of this.space.range(prefixRange(prefix))) {
      values.push(kind === 'w' ? text.decode(k.subarray(prefix.length + 12)) : readU64(k, prefix.length));
    }
    const list = kind === 'w' ? [...new Set(values)] : values;
    return (pins) => {
      if (cache) this.lists.set(key, list);
      pins.lists.set(key, list);
    };
  }

  private async readLeaf(hex: string): Promise<(pins: Pins) => void> {
    const hash = fromHex(hex);
    const found = hash && hash.length === 32 ? await this.entries.findByLeafHash(hash) : undefined;
    const index = found !== undefined && found < this.applied ? found : -1;
    return (pins) => {
      // A record found stays found; "none" may change as records are applied, so it is kept
      // for this operation only.
      if (index >= 0) this.leaves.set(hex, index);
      pins.leaves.set(hex, index);
    };
  }

  private async loadResident(): Promise<void> {
    const scan = (tag: number) => this.space.range(prefixRange(Uint8Array.of(tag)));
    const name = (key: Uint8Array) => text.decode(key.subarray(1)) as KeyRef;
    for await (const [key] of scan(POLICY_TAG.creatorKey)) this.resident.creatorKeys.add(name(key));
    for await (const [key, value] of scan(POLICY_TAG.identity)) this.resident.identities.set(name(key), text.decode(value) as KeyRef);
    for await (const [key, value] of scan(POLICY_TAG.rotation)) this.resident.rotations.set(name(key), parseJson<Rotation>(value));
    for await (const [key, value] of scan(POLICY_TAG.nextKey)) this.resident.nextKeys.set(name(key), text.decode(value));
    for await (const [key, value] of scan(POLICY_TAG.compromise)) this.resident.compromises.set(name(key), parseJson<Compromise>(value));
    for await (const [key, value] of scan(POLICY_TAG.lineage)) this.resident.addLineage({ lineageIndex: readU64(key, 1), ...parseJson<Omit<LineageEdge, 'lineageIndex'>>(value) });
    for await (const [key, value] of scan(POLICY_TAG.retirement)) {
      const { model, ...rest } = parseJson<{ model: ModelId } & Omit<RetirementState, 'index'>>(value);
      this.resident.addRetirement(model, { index: readU64(key, 1), ...rest });
    }
    for await (const [, value] of scan(POLICY_TAG.attestation)) this.resident.setAttestation(parseJson<AttestationState>(value));
    for await (const [key, value] of scan(POLICY_TAG.creatorRecord)) this.resident.creatorRecords.set(name(key), readU64(value));
    for await (const [, value] of scan(POLICY_TAG.delegation)) this.resident.setDelegation(parseJson<DelegationState>(value));
    for await (const [key, value] of scan(POLICY_TAG.ruling)) this.resident.addRuling({ index: readU64(key, 1), ...parseJson<Omit<RulingState, 'index'>>(value) });
    const clock = await this.space.get(Uint8Array.of(POLICY_TAG.clock));
    if (clock) this.resident.clock = parseJson<LogClock>(clock);
    for await (const [key] of scan(POLICY_TAG.nearId)) this.resident.near.add(text.decode(key.subarray(9)), readU64(key, 1));
    for await (const [key, value] of scan(POLICY_TAG.count)) this.counts.set(text.decode(key.subarray(1, key.length - 1)) as RecordType, readU64(value));
  }
}

/** Changes not yet in the store, in the order they were made. */
interface Changes {
  ops: Op[];
  /** New and changed grants: their latest state. */
  grants: Map<number, GrantState>;
  /** Values appended to lists (g, w, u keys). */
  lists: Map<string, Array<number | string>>;
  uses: number[];
  /** Logged times of the new uses that have one. */
  useTimes: Map<number, string>;
}

function newChanges(): Changes {
  return { ops: [], grants: new Map(), lists: new Map(), uses: [], useTimes: new Map() };
}

/** `earlier` then `later`, as if made in one go. */
function mergeChanges(earlier: Changes, later: Changes): Changes {
  const lists = new Map(earlier.lists);
  for (const [key, values] of later.lists) lists.set(key, [...(lists.get(key) ?? []), ...values]);
  const useTimes = new Map([...earlier.useTimes, ...later.useTimes]);
  return { ops: [...earlier.ops, ...later.ops], grants: new Map([...earlier.grants, ...later.grants]), lists, uses: [...earlier.uses, ...later.uses], useTimes };
}

interface Loading {
  fact: Fact;
  /** A flush of this fact completed while it was being read. */
  overtaken: boolean;
}

/** Facts loaded for one operation (see `run`). */
interface Pins {
  records: Map<number, KnownEntry>;
  uses: Map<number, UseState>;
  lists: Map<string, Array<number | string>>;
  leaves: Map<string, number>;
}

function newPins(): Pins {
  return { records: new Map(), uses: new Map(), lists: new Map(), leaves: new Map() };
}

type GrantChanges = { supersedes?: number; supersededBy?: number; revocations?: RevocationState[] };

function grantChanges(grant: GrantState): GrantChanges | undefined {
  const { supersedes, supersededBy, revocations } = grant;
  if (supersedes === undefined && supersededBy === undefined && !revocations) return undefined;
  return { supersedes, supersededBy, revocations };
}

/** Facts an operation is known to read, loaded before it runs (see StoredPolicyFacts.run). */
export interface Preload {
  /** Work identifiers whose grants it reads (judging items that name them). */
  works?: Iterable<string>;
}

/** Runs an operation on the server's policy, loading the facts it needs from the store first. */
export type RunPolicy = <T>(operation: (policy: ConsentPolicy) => T, preload?: Preload) => Promise<T>;

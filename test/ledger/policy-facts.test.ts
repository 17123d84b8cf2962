/**
 * The server's policy facts in LevelDB (StoredPolicyFacts) against the in-memory ones
 * (MemoryFacts): random logs of grants, supersessions, revocations, rotations, uses, lineage and
 * retirements over a few works and keys are applied to a policy on each, with caches of a few
 * entries (so nearly every read misses and is loaded), flushes at random points — awaited, left
 * running while records are applied and questions asked, or failing as a full disk would — and
 * restarts that lose what was not flushed (as a crash would). Every question the server asks must get the
 * same answer from both.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoredPolicyFacts } from '../../src/ledger/policy-facts.js';
import { defaultHasher } from '../../src/merkle/index.js';
import { ConsentPolicy, FactMissing } from '../../src/policy/index.js';
import { type KeyRef, type ModelId, type ParsedRecord, type RecordPayload, type RecordRef, type UseItem, toHex } from '../../src/records/index.js';
import { type KeyValueSpace, LevelLogStore } from '../../src/store/index.js';
import { tempDir } from '../support/tmp.js';
import { KEY_POOL, builder1, builder2, grant, item, lineage, retirement, revocation, rotation, sha256Id, signed, testKey, use } from '../records/fixtures.js';

const WORKS = [0, 1, 2, 3, 4].map((n) => sha256Id(`facts work ${n}`));
// Perceptual ids 0, 2, 8 and 32 bits apart: some are near copies of each other, some not.
const NEAR = ['phash:0000000000000000', 'phash:0000000000000003', 'phash:00000000000000ff', 'phash:ffffffff00000000'];
const MODELS = ['m1@1', 'm2@1', 'm3@1'];
const BUILDERS = [builder1, builder2];
const TIMES = ['2026-01-01T00:00:00Z', '2026-06-01T00:00:00Z', '2027-01-01T00:00:00Z'];
const NOW = '2026-09-01T00:00:00Z';
/**
 * Creator keys: the pool, and two that start unused, so that rotations to a fresh key succeed
 * and rotated-away keys go on to supersede and revoke (what spec/policy.md §2 ignores).
 */
const CREATORS = [...KEY_POOL, testKey('facts-successor-0'), testKey('facts-successor-1')];

type Pick = number;
type Action =
  | { kind: 'grant'; creator: Pick; works: Pick[]; near: Pick | null; supersedes: Pick | null; commercial: boolean; until: Pick | null; retireBy: Pick | null }
  | { kind: 'revoke'; creator: Pick; grant: Pick; effective: Pick; byLeaf: boolean }
  | { kind: 'rotate'; from: Pick; to: Pick }
  | { kind: 'use'; builder: Pick; model: Pick; items: Array<{ work: Pick; near: Pick | null; consent: Pick | null; byLeaf: boolean }>; commercial: boolean; time: Pick }
  | { kind: 'lineage'; builder: Pick; model: Pick; parent: Pick }
  | { kind: 'retire'; builder: Pick; model: Pick; effective: Pick }
  | { kind: 'clock'; time: Pick; byLog: boolean };

const pick = fc.nat(1000);
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null });
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('grant' as const), creator: pick, works: fc.array(pick, { minLength: 1, maxLength: 2 }), near: maybe(pick), supersedes: maybe(pick), commercial: fc.boolean(), until: maybe(pick), retireBy: maybe(pick) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('revoke' as const), creator: pick, grant: pick, effective: pick, byLeaf: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('rotate' as const), from: pick, to: pick }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('use' as const), builder: pick, model: pick, items: fc.array(fc.record({ work: pick, near: maybe(pick), consent: maybe(pick), byLeaf: fc.boolean() }), { minLength: 1, maxLength: 4 }), commercial: fc.boolean(), time: pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('lineage' as const), builder: pick, model: pick, parent: pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('retire' as const), builder: pick, model: pick, effective: pick }) },
  // The log's clock (spec/policy.md §1), in any order; one by another key tells nothing.
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('clock' as const), time: pick, byLog: fc.boolean() }) },
);

/** The log's key: its clock records set the logged time of the records after them. */
const LOG = testKey('facts-log');

const of = <T>(list: readonly T[], p: Pick) => list[p % list.length];

/** Turns actions into signed records; references pick among the records before them. */
function buildLog(actions: Action[]): ParsedRecord[] {
  const records: ParsedRecord[] = [];
  const grants: number[] = [];
  const ref = (index: number, byLeaf: boolean): RecordRef => (byLeaf ? { leafHash: toHex(defaultHasher.hashLeaf(records[index].entryBytes)) } : { index });
  for (const a of actions) {
    let payload: RecordPayload | undefined;
    let signer = KEY_POOL[0];
    switch (a.kind) {
      case 'grant': {
        signer = of(CREATORS, a.creator);
        const ids = [...new Set(a.works.map((w) => of(WORKS, w)))].map((w, i) => (a.near === null || i > 0 ? [w] : [w, of(NEAR, a.near)]));
        const extra = {
          commercial: a.commercial,
          ...(a.supersedes !== null && grants.length > 0 ? { supersedes: { index: of(grants, a.supersedes) } } : {}),
          ...(a.until !== null ? { validUntil: of(TIMES, a.until) } : {}),
          ...(a.retireBy !== null ? { retireBy: of(TIMES, a.retireBy) } : {}),
        };
        payload = grant(signer, ids, extra);
        grants.push(records.length);
        break;
      }
      case 'revoke':
        if (grants.length === 0) continue;
        signer = of(CREATORS, a.creator);
        payload = revocation(signer, ref(of(grants, a.grant), a.byLeaf), of(TIMES, a.effective));
        break;
      case 'rotate':
        if (a.from % CREATORS.length === a.to % CREATORS.length) continue;
        signer = of(CREATORS, a.to);
        payload = rotation(of(CREATORS, a.from), signer);
        break;
      case 'use': {
        signer = of(BUILDERS, a.builder);
        const items: UseItem[] = a.items.map((it) => {
          const work = it.near === null ? of(WORKS, it.work) : [of(WORKS, it.work), of(NEAR, it.near)];
          return item(work, it.consent === null || grants.length === 0 ? { none: true } : ref(of(grants, it.consent), it.byLeaf));
        });
        payload = use(signer, of(MODELS, a.model), items, { commercial: a.commercial, time: of(TIMES, a.time) });
        break;
      }
      case 'lineage':
        if (a.model % MODELS.length === a.parent % MODELS.length) continue;
        signer = of(BUILDERS, a.builder);
        payload = lineage(signer, of(MODELS, a.model), { builder: of(BUILDERS, a.parent), model: of(MODELS, a.parent) });
        break;
      case 'retire':
        signer = of(BUILDERS, a.builder);
        payload = retirement(signer, of(MODELS, a.model), of(TIMES, a.effective));
        break;
      case 'clock':
        signer = a.byLog ? LOG : KEY_POOL[1];
        payload = { type: 'clock', v: 1, author: signer.ref, time: of(TIMES, a.time) };
        break;
    }
    records.push(signed(payload, signer));
  }
  return records;
}

/** Every question the ledger asks the policy, answered by `policy` (errors as their messages). */
function answers(policy: ConsentPolicy, records: ParsedRecord[]): unknown[] {
  const out: unknown[] = [];
  const ask = (f: () => unknown) => {
    try {
      out.push(f());
    } catch (err) {
      if (err instanceof FactMissing) throw err;
      out.push(`error: ${(err as Error).message}`);
    }
  };
  const models = BUILDERS.flatMap((b) => MODELS.map((m) => `${b.ref}/${m}` as ModelId));
  records.forEach((r, index) => {
    ask(() => policy.describeEntry(index));
    if (r.payload.type === 'training-use') {
      ask(() => policy.judgeUse(index, { now: NOW }));
      for (const model of models) ask(() => policy.judgeUse(index, { now: NOW, model }));
      for (const it of r.payload.items ?? []) ask(() => [policy.claimants(it, index), policy.nearClaimants(it, index)]);
    }
    if (r.payload.type === 'consent-grant') {
      for (const key of CREATORS) ask(() => policy.admissionProblem(signed(revocation(key, { index }), key))?.message);
      for (const key of CREATORS) ask(() => policy.admissionProblem(signed(grant(key, [[WORKS[0]]], { supersedes: { index } }), key))?.message);
    }
  });
  for (const id of [...WORKS, ...NEAR]) {
    ask(() => policy.consentsOfWork(id, NOW));
    ask(() => policy.claimantsOf(id));
    ask(() => policy.nearGrantsOf(id));
  }
  for (const key of CREATORS) {
    ask(() => policy.worksOf(key.ref as KeyRef));
    ask(() => policy.identityOf(key.ref as KeyRef));
  }
  for (const model of models) ask(() => [policy.model(model), policy.usesOfModel(model), policy.modelsDerivedFrom(model)]);
  ask(() => policy.resolveRef({ leafHash: 'ab'.repeat(32) }));
  return out;
}

describe('StoredPolicyFacts', () => {
  let store: LevelLogStore;
  let cleanup: () => Promise<void>;
  let run = 0;
  beforeAll(async () => {
    const tmp = await tempDir('pvl-facts-');
    cleanup = tmp.cleanup;
    store = await LevelLogStore.open(tmp.dir);
  });
  afterAll(async () => {
    await store.close();
    await cleanup();
  });

  it('answers as MemoryFacts do, with tiny caches, random flushes and restarts that lose unflushed facts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(actionArb, { minLength: 1, maxLength: 40 }), fc.array(fc.constantFrom('flush', 'background-flush', 'failed-flush', 'restart', 'none'), { minLength: 40, maxLength: 40 }), async (actions, events) => {
        const records = buildLog(actions);
        const byLeaf = new Map(records.map((r, i) => [toHex(defaultHasher.hashLeaf(r.entryBytes)), i]));
        const stored_ = store.space(`policy-test-${run++}`);
        let failWrites = false;
        const space: KeyValueSpace = {
          get: (key) => stored_.get(key),
          getMany: (keys) => stored_.getMany(keys),
          range: (opts) => stored_.range(opts),
          clear: (opts) => stored_.clear(opts),
          write: (ops, opts) => (failWrites ? Promise.reject(new Error('no space left on device')) : stored_.write(ops, opts)),
        };
        const background: Array<Promise<void>> = [];
        const entries = { readEntry: async (i: number) => records[i]?.entryBytes, findByLeafHash: async (h: Uint8Array) => byLeaf.get(toHex(h)) };
        const sizes = { records: 2, uses: 1, lists: 2, leaves: 2 };
        const clockKey = LOG.ref as KeyRef;
        const reference = new ConsentPolicy({ clockKey });
        let facts = await StoredPolicyFacts.open(space, entries, sizes);
        let stored = new ConsentPolicy({ facts, size: facts.fed, clockKey });
        for (const [index, record] of records.entries()) {
          reference.apply(index, record);
          await facts.run(() => stored.apply(index, record));
          if (events[index] === 'flush') await facts.flush();
          // A flush left running may still be waiting when a later one is made to fail.
          if (events[index] === 'background-flush') background.push(facts.flush().catch((err: Error) => expect(err.message).toMatch('no space left')));
          if (events[index] === 'failed-flush') {
            failWrites = true;
            // Refused, unless there was nothing to write; either way the changes must not be lost.
            await facts.flush().catch((err: Error) => expect(err.message).toMatch('no space left'));
            failWrites = false;
          }
          if (events[index] === 'restart') {
            await Promise.all(background.splice(0));
            // A crash: what was not flushed is gone, and the ledger applies the log again from F.
            facts = await StoredPolicyFacts.open(space, entries, sizes);
            stored = new ConsentPolicy({ facts, size: facts.fed, clockKey });
            for (let again = facts.fed; again <= index; again++) await facts.run(() => stored.apply(again, records[again]));
          }
        }
        const flushing = facts.flush();
        expect(await facts.run(() => answers(stored, records))).toEqual(answers(reference, records));
        await Promise.all([...background, flushing]);
        await facts.flush();
        const reopened = await StoredPolicyFacts.open(space, entries, sizes);
        expect(reopened.fed).toBe(records.length);
        const counts: Record<string, number> = {};
        for (const r of records) counts[r.payload.type] = (counts[r.payload.type] ?? 0) + 1;
        expect(reopened.recordCounts()).toEqual(counts);
        const uses: number[] = [];
        for await (const index of reopened.useIndexes()) uses.push(index);
        expect(uses).toEqual(records.flatMap((r, i) => (r.payload.type === 'training-use' ? [i] : [])));
        expect(reopened.clock()).toEqual(reference.clock);
        const afterReopen = new ConsentPolicy({ facts: reopened, size: reopened.fed, clockKey });
        expect(await reopened.run(() => answers(afterReopen, records))).toEqual(answers(reference, records));
      }),
      { numRuns: 60 },
    );
  }, 120_000);

  it('does not keep a fact read from the store before a flush that changed it', async () => {
    const stored_ = store.space('policy-race');
    let hold: { release: () => void; held: Promise<void> } | undefined;
    const space: KeyValueSpace = {
      // The next get reads the store now and answers only when released, as a slow read would.
      get: async (key) => {
        const value = await stored_.get(key);
        const gate = hold;
        hold = undefined;
        if (gate) await gate.held;
        return value;
      },
      getMany: (keys) => stored_.getMany(keys),
      range: (opts) => stored_.range(opts),
      clear: (opts) => stored_.clear(opts),
      write: (ops, opts) => stored_.write(ops, opts),
    };
    const records = [signed(grant(KEY_POOL[0], [[WORKS[0]]]), KEY_POOL[0]), signed(revocation(KEY_POOL[0], { index: 0 }), KEY_POOL[0])];
    const entries = { readEntry: async (i: number) => records[i]?.entryBytes, findByLeafHash: async () => undefined };
    const first = await StoredPolicyFacts.open(space, entries);
    await first.run(() => new ConsentPolicy({ facts: first }).apply(0, records[0]));
    await first.flush();
    const facts = await StoredPolicyFacts.open(space, entries);
    const policy = new ConsentPolicy({ facts, size: facts.fed });
    let release = () => {};
    hold = { release: () => release(), held: new Promise<void>((r) => (release = r)) };
    const slowRead = facts.run(() => policy.grant(0));
    await new Promise((r) => setTimeout(r, 20));
    await facts.run(() => policy.apply(1, records[1]));
    await facts.flush();
    release();
    expect((await slowRead)?.revocations?.map((r) => r.index)).toEqual([1]);
    expect((await facts.run(() => policy.consentsOfWork(WORKS[0], NOW))).map((c) => c.status)).toEqual(['revoked']);
  });
});

/**
 * GET /stats behind the scenes: record counts, verdict totals of every item (inline and manifest),
 * tallied by a follower behind the query index; history.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Ledger, openLedger } from '../../src/ledger/index.js';
import { verdictsKey } from '../../src/ledger/keys.js';
import { nodeSigner } from '../../src/platform/node-signer.js';
import { ConsentPolicy } from '../../src/policy/index.js';
import { type TrainingUseRecord, type UseItem, parseRecord, signRecord, toHex, writeManifest } from '../../src/records/index.js';
import { type KeyValueSpace, type LogStore, LevelLogStore } from '../../src/store/index.js';
import { type TestKey, alice, bob, builder1, creator, grant, item, retirement, revocation, sha256Id, use, verify } from '../records/fixtures.js';
import { ORIGIN, type TestLedger, chunked, freshDir, logKey, openTestLedger, settled, tallied } from './support.js';

const sign = (payload: Parameters<typeof signRecord>[0], who: { signer: Parameters<typeof signRecord>[1] }) => signRecord(payload, who.signer, { verify });
const text = new TextDecoder();


/** A manifest of `items`, uploaded to the ledger. */
async function upload(ledger: Ledger, items: UseItem[]): Promise<{ root: string; count: number }> {
  const parts: Uint8Array[] = [];
  const summary = await writeManifest(items, items.length, (c) => void parts.push(c.slice()));
  const manifest = { root: toHex(summary.root), count: items.length };
  await ledger.putManifest(chunked(Buffer.concat(parts), 1 << 16), manifest);
  return manifest;
}

const manifestUse = (model: string, manifest: { root: string; count: number }) => sign(use(builder1, model, [], { items: undefined, manifest } as never), builder1);

describe('ledger stats', () => {
  it('counts records by type and judges every declared item', async () => {
    const ledger = await openTestLedger(await freshDir());
    const W = [sha256Id('s1'), sha256Id('s2'), sha256Id('s3')];
    const [, g] = await ledger.submit([sign(creator(alice), alice), sign(grant(alice, [[W[0]]]), alice), sign(creator(bob), bob)]);
    // Inline: one consented item, one without consent.
    await ledger.submit([sign(use(builder1, 'm@1', [item(W[0], { index: g.index }), item(W[1], { none: true })]), builder1)]);
    // Manifest: 300 items without consent and one consented.
    const items: UseItem[] = [...Array.from({ length: 300 }, (_, i) => item(sha256Id(`many ${i}`), { none: true })), item(W[0], { index: g.index })];
    const chunks: Uint8Array[] = [];
    const summary = await writeManifest(items, items.length, (c) => void chunks.push(c.slice()));
    const bytes = Uint8Array.from(chunks.flatMap((c) => Array.from(c)));
    const root = Buffer.from(summary.root).toString('hex');
    await ledger.putManifest(chunked(bytes, 1000), { root, count: items.length });
    const [last] = await ledger.submit([sign(use(builder1, 'm@2', [], { items: undefined, manifest: { root, count: items.length } } as never), builder1)]);
    await settled(ledger, last.index);
    const stats = await tallied(ledger);
    expect(stats.treeSize).toBe(last.index + 1);
    expect(stats).toMatchObject({ indexed: last.index + 1, judged: last.index + 1, partial: null });
    expect(stats.records).toEqual({ creator: 2, 'consent-grant': 1, 'training-use': 2 });
    expect(stats.items).toBe(2 + 301);
    expect(stats.verdicts).toEqual({ consented: 2, 'no-consent': 301 });
    expect(stats.history.at(-1)!.size).toBe(last.index + 1);
    expect(stats.history.map((h) => h.size)).toEqual([...stats.history.map((h) => h.size)].sort((a, b) => a - b));
  });
});

// ---- kept incrementally ------------------------------------------------------------------------

const TIMES = ['2026-02-01T00:00:00Z', '2026-05-01T00:00:00Z', '2026-08-01T00:00:00Z', '2026-11-01T00:00:00Z'];
const WORKS = [0, 1, 2, 3].map((i) => sha256Id(`tallied ${i}`));

type Step =
  | { kind: 'grant'; author: number; works: number[]; validUntil: number | null; retireBy: number | null }
  | { kind: 'revoke'; grant: number; effective: number }
  | { kind: 'use'; items: Array<{ work: number; consent: number | null }>; time: number; model: number; manifest: boolean }
  | { kind: 'retire'; model: number; effective: number }
  | { kind: 'settle' }
  | { kind: 'reopen' };

const time = fc.nat(TIMES.length - 1);
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('grant' as const), author: fc.nat(1), works: fc.uniqueArray(fc.nat(3), { minLength: 1, maxLength: 3 }), validUntil: fc.option(time), retireBy: fc.option(time) }),
  fc.record({ kind: fc.constant('revoke' as const), grant: fc.nat(), effective: time }),
  fc.record({
    kind: fc.constant('use' as const),
    items: fc.array(fc.record({ work: fc.nat(3), consent: fc.option(fc.nat()) }), { minLength: 1, maxLength: 6 }),
    time,
    model: fc.nat(1),
    manifest: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('retire' as const), model: fc.nat(1), effective: time }),
  fc.constant({ kind: 'settle' as const }),
  fc.constant({ kind: 'reopen' as const }),
);

/**
 * The tallies from scratch: a fresh policy fed the whole log, every indexed use's items judged as
 * spec/api.md says (at the use's time, from the records before it), a work counted at the first
 * item of its use naming it. `reach`: only as far as /stats says its tallies reach (the uses
 * below `judged`, and the items below `position` of the use at `judged`).
 */
async function fromScratch(ledger: Ledger, manifests: Map<string, UseItem[]>, reach = { judged: ledger.indexedSize, position: 0 }): Promise<{ items: number; verdicts: Record<string, number> }> {
  const policy = new ConsentPolicy();
  const entries = await ledger.log.readEntries(0, ledger.log.sequencedSize);
  const records = entries.map((entry) => parseRecord(entry, { verify }));
  records.forEach((record, index) => policy.apply(index, record));
  const verdicts: Record<string, number> = {};
  let items = 0;
  records.forEach((record, index) => {
    const p = record.payload;
    if (index > reach.judged || p.type !== 'training-use') return;
    const named = new Set<string>();
    for (const [position, it] of (p.items ?? manifests.get(p.manifest!.root)!).entries()) {
      if (index === reach.judged && position >= reach.position) break;
      const fresh = it.work.some((w) => !named.has(w));
      it.work.forEach((w) => named.add(w));
      if (!fresh) continue;
      const verdict = policy.judgeItem(index, it, { now: p.time, before: index }).verdict;
      verdicts[verdict] = (verdicts[verdict] ?? 0) + 1;
      items++;
    }
  });
  return { items, verdicts };
}

describe('stats tallied behind the index', () => {
  it('tally the verdicts as judged when each use was logged: later records and the clock do not change them', async () => {
    const ledger = await openTestLedger(await freshDir());
    const W = WORKS[0];
    const [g] = await ledger.submit([sign(grant(alice, [[W]], { retireBy: '2026-03-01T00:00:00Z' }), alice)]);
    const [u] = await ledger.submit([sign(use(builder1, 'm@1', [item(W, { index: g.index }), item(W, { index: g.index })]), builder1)]);
    await settled(ledger, u.index);
    expect((await tallied(ledger)).verdicts).toEqual({ 'retention-overdue': 1 });
    // Retired, effective before the deadline, but logged after the use.
    const [r] = await ledger.submit([sign(retirement(builder1, 'm@1', '2026-01-01T00:00:00Z'), builder1)]);
    await settled(ledger, r.index);
    expect((await ledger.usesOfWork(W)).uses.map((x) => x.verdict.verdict)).toEqual(['consented']);
    await tallied(ledger);
    const [a, b] = await Promise.all([ledger.stats!(), ledger.stats!()]);
    expect(a).toBe(b);
    expect(a).toMatchObject({ items: 1, verdicts: { 'retention-overdue': 1 }, indexed: r.index + 1, judged: r.index + 1 });
  });

  it('equal a from-scratch recomputation across index runs, restarts, a store from before this V, and reindex (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 14, size: 'max' }), fc.boolean(), async (steps, oldV) => {
        const dir = await freshDir();
        let ledger = await openTestLedger(dir);
        const grants: Array<{ index: number; author: TestKey }> = [];
        const manifests = new Map<string, UseItem[]>();
        const authors = [alice, bob];
        for (const step of steps) {
          if (step.kind === 'grant') {
            const author = authors[step.author];
            const extra = { ...(step.validUntil === null ? {} : { validUntil: TIMES[step.validUntil] }), ...(step.retireBy === null ? {} : { retireBy: TIMES[step.retireBy] }) };
            const [g] = await ledger.submit([sign(grant(author, step.works.map((w) => [WORKS[w]]), extra), author)]);
            grants.push({ index: g.index, author });
          } else if (step.kind === 'revoke' && grants.length > 0) {
            const g = grants[step.grant % grants.length];
            await ledger.submit([sign(revocation(g.author, { index: g.index }, TIMES[step.effective]), g.author)]);
          } else if (step.kind === 'use') {
            const items = step.items.map((it) => item(WORKS[it.work], it.consent === null || grants.length === 0 ? { none: true } : { index: grants[it.consent % grants.length].index }));
            const extra: Partial<TrainingUseRecord> = { time: TIMES[step.time] };
            if (step.manifest) {
              const parts: Uint8Array[] = [];
              const summary = await writeManifest(items, items.length, (c) => void parts.push(c.slice()));
              const manifest = { root: toHex(summary.root), count: items.length };
              await ledger.putManifest(chunked(Buffer.concat(parts), 100), manifest);
              manifests.set(manifest.root, items);
              Object.assign(extra, { items: undefined, manifest });
            }
            await ledger.submit([sign(use(builder1, `m${step.model}@1`, items, extra), builder1)]);
          } else if (step.kind === 'retire') {
            await ledger.submit([sign(retirement(builder1, `m${step.model}@1`, TIMES[step.effective]), builder1)]);
          } else if (step.kind === 'settle' && ledger.log.sequencedSize > 0) {
            await settled(ledger, ledger.log.sequencedSize - 1);
          } else if (step.kind === 'reopen') {
            await ledger.close();
            ledger = await openTestLedger(dir);
          }
        }
        if (ledger.log.sequencedSize > 0) await settled(ledger, ledger.log.sequencedSize - 1);
        const expected = await fromScratch(ledger, manifests);
        expect(await tallied(ledger)).toMatchObject({ ...expected, indexed: ledger.indexedSize, judged: ledger.indexedSize, partial: null });

        // A store with the V of an earlier version ({from, items, verdicts}, here wrong) or none:
        // counted again from 0, in the background.
        await ledger.close();
        const store = await LevelLogStore.open(dir);
        const old = JSON.stringify({ from: 0, items: 7, verdicts: { consented: 7 } });
        await store.space('ledger').write([{ key: verdictsKey, value: oldV ? new TextEncoder().encode(old) : null }]);
        await store.close();
        ledger = await openTestLedger(dir);
        expect(await tallied(ledger)).toMatchObject(expected);
        await ledger.close();
        ledger = await openTestLedger(dir);
        expect(await ledger.stats!()).toMatchObject({ ...expected, judged: ledger.indexedSize });
        await ledger.reindex();
        expect(await tallied(ledger)).toMatchObject(expected);
        await ledger.close();
      }),
      { numRuns: 12 },
    );
  });
});

// ---- never in the way of the index -----------------------------------------------------------

/**
 * The real store, with the ledger's writes of V (the tallies) passed through `gate` first: it may
 * hold them back (a promise) or refuse them (throw).
 */
class GatedStore implements LogStore {
  constructor(
    readonly inner: LevelLogStore,
    private readonly gate: (tallies: { judged: number; position: number }) => Promise<void> | void,
  ) {}
  sequencedSize = () => this.inner.sequencedSize();
  appendEntries = (...a: Parameters<LogStore['appendEntries']>) => this.inner.appendEntries(...a);
  readEntries = (first: number, count: number) => this.inner.readEntries(first, count);
  findLeafHashes = (...a: Parameters<LogStore['findLeafHashes']>) => this.inner.findLeafHashes(...a);
  writeIntegration = (...a: Parameters<LogStore['writeIntegration']>) => this.inner.writeIntegration(...a);
  readTiles = (...a: Parameters<LogStore['readTiles']>) => this.inner.readTiles(...a);
  readCheckpoint = () => this.inner.readCheckpoint();
  diskUsage = () => this.inner.diskUsage();
  memoryUse = () => this.inner.memoryUse();
  close = () => this.inner.close();
  space(name: string): KeyValueSpace {
    const space = this.inner.space(name);
    const gate = this.gate;
    return {
      get: (k) => space.get(k),
      getMany: (ks) => space.getMany(ks),
      range: (o) => space.range(o),
      clear: (o) => space.clear(o),
      async write(ops, opts) {
        const v = name === 'ledger' ? ops.find((op) => op.key.length === 1 && op.key[0] === verdictsKey[0]) : undefined;
        if (v?.value) await gate(JSON.parse(text.decode(v.value)) as { judged: number; position: number });
        return space.write(ops, opts);
      },
    };
  }
}

async function openGated(dir: string, gate: ConstructorParameters<typeof GatedStore>[1]): Promise<TestLedger> {
  const store = new GatedStore(await LevelLogStore.open(dir), gate);
  return (await openLedger({ store, origin: ORIGIN, signer: nodeSigner(logKey), integrateIntervalMs: 5 })) as TestLedger;
}

async function storedTallies(dir: string): Promise<{ judged: number; position: number; items: number }> {
  const store = await LevelLogStore.open(dir);
  try {
    return JSON.parse(text.decode((await store.space('ledger').get(verdictsKey))!)) as { judged: number; position: number; items: number };
  } finally {
    await store.close();
  }
}

describe('stats tallied behind the index', () => {
  it('never hold back the index: a 40,000-item manifest is indexed and queried while its tallies cannot be stored', async () => {
    const dir = await freshDir();
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let held = 0;
    const ledger = await openGated(dir, () => {
      held++;
      return released;
    });
    try {
      const works = Array.from({ length: 40_000 }, (_, i) => sha256Id(`held ${i}`));
      const manifest = await upload(ledger, works.map((w) => item(w, { none: true })));
      const [u] = await ledger.submit([manifestUse('big@1', manifest)]);
      // The index reaches the use, and answers for its last item, while the follower's first
      // write of V waits: indexing never awaits judging.
      await settled(ledger, u.index);
      expect((await ledger.usesOfWork(works[39_999])).uses.map((x) => [x.useIndex, x.position])).toEqual([[u.index, 39_999]]);
      while (held === 0) await new Promise((r) => setTimeout(r, 2));
      const behind = await ledger.stats!();
      expect(behind).toMatchObject({ indexed: u.index + 1, items: 0, partial: null });
      expect(behind.judged).toBeLessThanOrEqual(u.index);
      release();
      expect(await tallied(ledger)).toMatchObject({ items: 40_000, verdicts: { 'no-consent': 40_000 }, judged: u.index + 1 });
    } finally {
      release();
      await ledger.close();
    }
  });

  it('resume mid-manifest after a restart, counting no item twice and missing none', async () => {
    const dir = await freshDir();
    // Stored V stops at position 2,048 of the manifest: later writes fail (a full disk, say).
    const STOP = 2048;
    let refused = 0;
    let useIndex = Number.MAX_SAFE_INTEGER;
    let ledger = await openGated(dir, ({ judged, position }) => {
      if (judged > useIndex || position > STOP) {
        refused++;
        throw new Error('cannot write index: no space left on device (simulated)');
      }
    });
    const W = Array.from({ length: 3000 }, (_, i) => sha256Id(`resumed ${i}`));
    const [g] = await ledger.submit([sign(grant(alice, [[W[10]], [W[2500]]]), alice)]);
    // 5,000 items naming 3,000 works: items 3,000… repeat works first named before the stop,
    // which a resumed follower must still know were named; two rely on the grant.
    const items = Array.from({ length: 5000 }, (_, i) => item(W[i % 3000], i % 3000 === 10 || i % 3000 === 2500 ? { index: g.index } : { none: true }));
    const manifest = await upload(ledger, items);
    const manifests = new Map([[manifest.root, items]]);
    const tail = [sign(use(builder1, 'small@1', [item(W[0], { none: true }), item(W[0], { index: g.index })]), builder1)];
    try {
      const [u] = await ledger.submit([manifestUse('big@1', manifest), ...tail]);
      useIndex = u.index;
      await settled(ledger, ledger.log.sequencedSize - 1);
      while (refused === 0) await new Promise((r) => setTimeout(r, 2));
      // What /stats says is what the stored tallies count, so far.
      const partial = await ledger.stats!();
      expect(partial).toMatchObject({ judged: u.index, partial: { useIndex: u.index, position: STOP } });
      expect(partial).toMatchObject(await fromScratch(ledger, manifests, { judged: u.index, position: STOP }));
      expect(ledger.failing?.map((f) => f.work)).toContain('stats');
    } finally {
      await ledger.close();
    }
    expect(await storedTallies(dir)).toMatchObject({ judged: useIndex, position: STOP });
    ledger = await openTestLedger(dir);
    const expected = await fromScratch(ledger, manifests);
    expect(expected.items).toBe(3000 + 1);
    expect(await tallied(ledger)).toMatchObject({ ...expected, partial: null });
    await ledger.close();
    expect(await storedTallies(dir)).toMatchObject({ ...expected, judged: useIndex + 2, position: 0 });
  });

  it('retry a batch whose write failed from the stored position, reported meanwhile', async () => {
    const dir = await freshDir();
    let failures = 0;
    const ledger = await openGated(dir, ({ position }) => {
      if (position > 2048 && failures++ === 0) throw new Error('cannot write index: no space left on device (simulated)');
    });
    try {
      const items = Array.from({ length: 4000 }, (_, i) => item(sha256Id(`retried ${i % 3500}`), { none: true }));
      const manifest = await upload(ledger, items);
      const [u] = await ledger.submit([manifestUse('big@1', manifest)]);
      await settled(ledger, u.index);
      while (failures === 0) await new Promise((r) => setTimeout(r, 2));
      expect(ledger.failing?.map((f) => f.work)).toEqual(['stats']);
      expect(await tallied(ledger)).toMatchObject({ ...(await fromScratch(ledger, new Map([[manifest.root, items]]))), items: 3500 });
      expect(ledger.failing).toEqual([]);
    } finally {
      await ledger.close();
    }
  });
});

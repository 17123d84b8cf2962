/**
 * Near copies (spec/policy.md rule 1a, spec/api.md GET /works/similar): the policy on hand-built
 * logs with hand-made codes whose distances are known by construction, then a real ledger on
 * LevelDB with a sharp-generated PNG, its JPEG re-encode and the HTTP route. Expected distances
 * are recomputed here by counting differing bits of the hex digits (not with src/works).
 */
import fc from 'fast-check';
import sharp from 'sharp';
import { describe, expect, it, vi } from 'vitest';
import { openLedger } from '../../src/ledger/index.js';
import { generatePrivateKey, verifierKeyOf } from '../../src/note/index.js';
import { nodeSigner } from '../../src/platform/node-signer.js';
import { ConsentPolicy } from '../../src/policy/index.js';
import { type ParsedRecord, type RecordPayload, type UseItem, signRecord, toHex, writeManifest } from '../../src/records/index.js';
import { createApp } from '../../src/server/app.js';
import { LevelLogStore } from '../../src/store/index.js';
import { workIdsOfBytes } from '../../src/works/node.js';
import { ALL_ALLOWED, type TestKey, alice, bob, builder1, creator, grant, item, revocation, sha256Id, signed, use, verify } from '../records/fixtures.js';
import { tempDir } from '../support/tmp.js';
import { baseImage } from '../works/corpus.js';
import { chunked, freshDir, openTestLedger, settled } from './support.js';

const NOW = '2027-06-01T00:00:00Z';
const NO_GENERATIVE = { ...ALL_ALLOWED, ai_generative_training: { use: 'notAllowed' as const } };

/** Bits that differ between two hex strings of equal length (a second implementation of Hamming distance). */
function hexDistance(a: string, b: string): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    let x = parseInt(a[i], 16) ^ parseInt(b[i], 16);
    for (; x; x >>= 1) d += x & 1;
  }
  return d;
}

const P = 'phash:3c5a96f00ff0a55a';
/** P with its first `n` bits flipped (MSB first), so distance(P, flip(n)) = n. */
function flip(n: number, base = P): string {
  const hex = base.slice(6);
  let bits = BigInt(`0x${hex}`);
  for (let i = 0; i < n; i++) bits ^= 1n << BigInt(63 - i);
  return `phash:${bits.toString(16).padStart(16, '0')}`;
}

class Log {
  readonly policy = new ConsentPolicy();
  private size = 0;
  add(payload: RecordPayload, signer: TestKey): number {
    const parsed: ParsedRecord = signed(payload, signer);
    this.policy.apply(this.size, parsed);
    return this.size++;
  }
  judge(useIndex: number) {
    return this.policy.judgeUse(useIndex, { now: NOW });
  }
}

const A = sha256Id('work A');
const COPY = sha256Id('copy of A');

describe('policy: near copies (rule 1a)', () => {
  it('a near copy relying on a grant that covers the use is consented, at its distance', () => {
    const log = new Log();
    const g = log.add(grant(alice, [[A, P]]), alice);
    const u = log.add(use(builder1, 'm@1', [item([COPY, flip(3)], { index: g }), item([COPY, flip(3)], { none: true })]), builder1);
    const [relied, none] = log.judge(u);
    expect(relied).toMatchObject({ verdict: 'consented', consentIndex: g, distance: 3 });
    // Nobody objects, but the builder relied on nothing: rule 1 stands.
    expect(none.verdict).toBe('no-consent');
    expect(none.distance).toBeUndefined();
  });

  it('a near copy of a work whose creator forbids the use, or revoked, is unconsented-near-copy', () => {
    const log = new Log();
    const g0 = log.add(grant(alice, [[A, P]], { uses: NO_GENERATIVE }), alice);
    const g1 = log.add(grant(bob, [[sha256Id('B'), flip(20)]]), bob);
    log.add(revocation(bob, { index: g1 }), bob);
    const u = log.add(use(builder1, 'm@1', [item([COPY, flip(5)], { none: true }), item([sha256Id('copy of B'), flip(18)], { index: g1 })]), builder1);
    const [ofA, ofB] = log.judge(u);
    expect(ofA).toMatchObject({ verdict: 'unconsented-near-copy', consentIndex: g0, distance: 5 });
    expect(ofA.reason).toContain('not allowed');
    expect(ofB).toMatchObject({ verdict: 'unconsented-near-copy', consentIndex: g1, distance: 2 });
    expect(ofB.reason).toContain('revoked');
  });

  it('only records logged before the use count', () => {
    const log = new Log();
    const g = log.add(grant(alice, [[A, P]]), alice);
    const u1 = log.add(use(builder1, 'm@1', [item([COPY, flip(4)], { index: g })]), builder1);
    log.add(revocation(alice, { index: g }), alice);
    log.add(grant(bob, [[sha256Id('B'), flip(1)]], { uses: NO_GENERATIVE }), bob);
    const u2 = log.add(use(builder1, 'm@2', [item([COPY, flip(4)], { index: g })]), builder1);
    // u1 came before the revocation and before bob's objection.
    expect(log.judge(u1)[0]).toMatchObject({ verdict: 'consented', distance: 4 });
    // u2 after both: bob (distance 3) and alice (revoked, distance 4) object; the nearest objection is reported.
    expect(log.judge(u2)[0]).toMatchObject({ verdict: 'unconsented-near-copy', distance: 3 });
  });

  it('one objecting creator is enough, whatever the others allow', () => {
    const log = new Log();
    const g0 = log.add(grant(alice, [[A, P]]), alice);
    log.add(grant(bob, [[sha256Id('B'), flip(9)]], { uses: NO_GENERATIVE }), bob);
    const u = log.add(use(builder1, 'm@1', [item([COPY, flip(2)], { index: g0 })]), builder1);
    expect(log.judge(u)[0]).toMatchObject({ verdict: 'unconsented-near-copy', distance: 7 });
  });

  it('the very work (same sha256) is judged by rules 1–10 only; other bytes with the same code are a copy at distance 0', () => {
    const log = new Log();
    const g = log.add(grant(alice, [[A, P]], { uses: NO_GENERATIVE }), alice);
    const u = log.add(use(builder1, 'm@1', [item([A, P], { none: true }), item([COPY, P], { none: true }), item([COPY, P], { index: g })]), builder1);
    expect(log.judge(u).map((j) => [j.verdict, j.distance])).toEqual([
      ['no-consent', undefined],
      ['unconsented-near-copy', 0],
      ['use-not-allowed', undefined], // the grant names P itself: rule 7
    ]);
  });

  it('the threshold is inclusive (phash 12), and matches an independent distance (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.array(fc.integer({ min: 0, max: 63 }), { maxLength: 20 }), (code, bits) => {
        const granted = `phash:${code.toString(16).padStart(16, '0')}`;
        let copy = code;
        for (const b of bits) copy ^= 1n << BigInt(b);
        const copied = `phash:${copy.toString(16).padStart(16, '0')}`;
        const log = new Log();
        log.add(grant(alice, [[A, granted]], { uses: NO_GENERATIVE }), alice);
        const u = log.add(use(builder1, 'm@1', [item([COPY, copied], { none: true })]), builder1);
        const d = hexDistance(granted.slice(6), copied.slice(6));
        const j = log.judge(u)[0];
        if (d <= 12) expect(j).toMatchObject({ verdict: 'unconsented-near-copy', distance: d });
        else expect(j.verdict).toBe('no-consent');
      }),
      { numRuns: 200 },
    );
  });
});

/** A PNG from the works corpus and its JPEG re-encode, with their identifiers. */
async function imageAndCopy(seed: number) {
  const png = await baseImage(seed);
  // A 5% centre crop saved as JPEG: new bytes, and (for these seeds) a code a few bits away.
  const jpeg = await sharp(png).extract({ left: 6, top: 6, width: 244, height: 244 }).jpeg({ quality: 70 }).toBuffer();
  const [pngIds, jpegIds] = await Promise.all([workIdsOfBytes(png), workIdsOfBytes(jpeg)]);
  const distance = hexDistance(pngIds[1].slice(6), jpegIds[1].slice(6));
  expect(pngIds[0]).not.toBe(jpegIds[0]);
  expect(distance, `seed ${seed}`).toBeGreaterThan(0);
  expect(distance, `seed ${seed}`).toBeLessThanOrEqual(12);
  return { png: pngIds, jpeg: jpegIds };
}

describe('ledger: near copies on LevelDB', () => {
  it('GET /works/similar finds the original; verdicts and the creator’s uses carry the distance; rebuilt on reopen', async () => {
    const { png, jpeg } = await imageAndCopy(4);
    expect(png[0]).not.toBe(jpeg[0]);
    const distance = hexDistance(png[1].slice(6), jpeg[1].slice(6));
    expect(distance).toBeLessThanOrEqual(12);

    const dir = await freshDir();
    let ledger = await openTestLedger(dir);
    const sign = (p: RecordPayload, who: TestKey) => signRecord(p, who.signer, { verify });
    const [, g] = await ledger.submit([sign(creator(alice), alice), sign(grant(alice, [png]), alice)]);
    const [u] = await ledger.submit([sign(use(builder1, 'm@1', [item(jpeg, { index: g.index })]), builder1)]);
    await settled(ledger, u.index);

    const expected = [
      { work: jpeg[0], id: jpeg[1], distance: 0, consents: 0, uses: 1 },
      { work: png[0], id: png[1], distance, consents: 1, uses: 0 },
    ].sort((a, b) => a.distance - b.distance || (a.work < b.work ? -1 : 1));
    const similar = await ledger.similarWorks!(jpeg[1]);
    expect(similar).toEqual(expected);

    const [report] = (await ledger.usesOfWork(jpeg[0])).uses;
    expect(report.verdict).toMatchObject({ verdict: 'consented', consentIndex: g.index, distance });
    const mine = await ledger.usesOfCreator(alice.ref);
    expect(mine.works).toEqual(png);
    expect(mine.uses.map((r) => [r.useIndex, r.bundle.work, r.verdict.verdict, r.verdict.distance])).toEqual([[u.index, jpeg[0], 'consented', distance]]);
    // Nothing is near for bob, and resuming after the use lists nothing.
    expect((await ledger.usesOfCreator(bob.ref)).uses).toEqual([]);
    expect((await ledger.usesSince({ creator: alice.ref }, { useIndex: u.index, position: 0 })).uses).toEqual([]);

    await ledger.close();
    ledger = await openTestLedger(dir);
    expect(await ledger.similarWorks!(jpeg[1])).toEqual(expected);
  });

  it('a revoked or forbidding creator makes the copy unconsented-near-copy, in queries and the creator’s uses', async () => {
    const { png, jpeg } = await imageAndCopy(7);
    const distance = hexDistance(png[1].slice(6), jpeg[1].slice(6));
    const ledger = await openTestLedger(await freshDir());
    const sign = (p: RecordPayload, who: TestKey) => signRecord(p, who.signer, { verify });
    const [g] = await ledger.submit([sign(grant(alice, [png]), alice)]);
    await ledger.submit([sign(revocation(alice, { index: g.index }), alice)]);
    const [u] = await ledger.submit([sign(use(builder1, 'm@1', [item(jpeg, { none: true })]), builder1)]);
    await settled(ledger, u.index);
    const [report] = (await ledger.usesOfWork(jpeg[0])).uses;
    expect(report.verdict).toMatchObject({ verdict: 'unconsented-near-copy', consentIndex: g.index, distance });
    expect(report.bundle.verdict).toEqual(report.verdict);
    const mine = await ledger.usesOfCreator(alice.ref);
    expect(mine.uses.map((r) => [r.bundle.work, r.verdict.verdict, r.verdict.distance])).toEqual([[jpeg[0], 'unconsented-near-copy', distance]]);
  });

  it('a new use of a near copy is announced to the original’s creator (onUse claimants)', async () => {
    const { png, jpeg } = await imageAndCopy(4);
    const ledger = await openTestLedger(await freshDir());
    const sign = (p: RecordPayload, who: TestKey) => signRecord(p, who.signer, { verify });
    const heard: Array<[number, string, string[], number | undefined]> = [];
    ledger.onUse((use, claimants) => heard.push([use.useIndex, use.verdict.verdict, claimants, use.verdict.distance]));
    const [g] = await ledger.submit([sign(grant(alice, [png], { uses: NO_GENERATIVE }), alice)]);
    const [u] = await ledger.submit([sign(use(builder1, 'm@1', [item(jpeg, { none: true }), item(sha256Id('unrelated'), { none: true })]), builder1)]);
    await settled(ledger, u.index);
    const distance = hexDistance(png[1].slice(6), jpeg[1].slice(6));
    // Listeners are called after the round's index is written, so `settled` may return first.
    await vi.waitFor(() => expect(heard).toHaveLength(1));
    expect(heard).toEqual([[u.index, 'unconsented-near-copy', [alice.ref], distance]]);
    expect(g.index).toBeLessThan(u.index);
  });

  it('near copies inside a manifest are indexed too', async () => {
    const { png, jpeg } = await imageAndCopy(10);
    const ledger = await openTestLedger(await freshDir());
    const sign = (p: RecordPayload, who: TestKey) => signRecord(p, who.signer, { verify });
    const [g] = await ledger.submit([sign(grant(alice, [png], { uses: NO_GENERATIVE }), alice)]);
    const items: UseItem[] = [item(sha256Id('filler'), { none: true }), item(jpeg, { none: true })];
    const parts: Uint8Array[] = [];
    const summary = await writeManifest(items, items.length, (c) => void parts.push(c.slice()));
    const manifest = { root: toHex(summary.root), count: summary.count };
    await ledger.putManifest(chunked(Buffer.concat(parts), 1000), manifest);
    const [u] = await ledger.submit([sign(use(builder1, 'm@1', [], { items: undefined, manifest: { root: manifest.root, count: manifest.count } }), builder1)]);
    await settled(ledger, u.index);
    const similar = await ledger.similarWorks!(png[1]);
    expect(similar.map((s) => [s.work, s.uses])).toEqual(expect.arrayContaining([[jpeg[0], 1], [png[0], 0]]));
    const mine = await ledger.usesOfCreator(alice.ref);
    expect(mine.uses.map((r) => [r.position, r.verdict.verdict])).toEqual([[1, 'unconsented-near-copy']]);
    expect(g.index).toBe(0);
  });
});

describe('GET /works/similar', () => {
  it('answers matches, and 400 problems for bad id or max', async () => {
    const { dir, cleanup } = await tempDir('pvl-similar-');
    const logKey = generatePrivateKey('test.example/similar');
    const store = await LevelLogStore.open(dir);
    const ledger = await openLedger({ store, origin: 'test.example/similar', signer: nodeSigner(logKey), integrateIntervalMs: 5 });
    const app = createApp({ ledger, log: ledger.log, vkey: verifierKeyOf(logKey), keepaliveMs: 60_000 });
    try {
      const { png, jpeg } = await imageAndCopy(13);
      const [g] = await ledger.submit([signRecord(grant(alice, [png]), alice.signer, { verify })]);
      await settled(ledger, g.index);
      const ok = await app.request(`/works/similar?id=${jpeg[1]}`);
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ matches: [{ work: png[0], id: png[1], distance: hexDistance(png[1].slice(6), jpeg[1].slice(6)), consents: 1, uses: 0 }] });
      const none = await app.request(`/works/similar?id=${jpeg[1]}&max=0`);
      expect(await none.json()).toEqual({ matches: [] });
      for (const bad of [`id=${png[0]}`, 'id=phash:xyz', `id=${png[1]}&max=21`, `id=${png[1]}&max=-1`, 'id=pdq:' + '0'.repeat(64)]) {
        const res = await app.request(`/works/similar?${bad}`);
        expect(res.status, bad).toBe(400);
        expect(res.headers.get('content-type')).toContain('application/problem+json');
      }
    } finally {
      await ledger.close();
      await cleanup();
    }
  });
});

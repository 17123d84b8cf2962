/**
 * The ledger end to end on LevelDB: admission (all-or-nothing, duplicates, log-level checks),
 * the integration loop and query index, verdicts, proof bundles checked with the merkle, note
 * and records verifiers, reopening, crash recovery between integration and indexing, reindex.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LedgerError } from '../../src/errors.js';
import { type ProofBundle, type UseReport } from '../../src/ledger/index.js';
import { Log } from '../../src/log/index.js';
import { verifyInclusion } from '../../src/merkle/index.js';
import { openCheckpoint } from '../../src/note/index.js';
import { nodeHasher } from '../../src/platform/node-hasher.js';
import { nodeSigner } from '../../src/platform/node-signer.js';
import { type UseItem, fromBase64, parseRecord, signRecord, toHex, verifyManifestItem, writeManifest } from '../../src/records/index.js';
import { LevelLogStore } from '../../src/store/index.js';
import { readU64 } from '../../src/ledger/keys.js';
import { ALL_ALLOWED, alice, bob, builder1, builder2, carol, creator, grant, item, lineage, revocation, sha256Id, signRaw, use, verify } from '../records/fixtures.js';
import { type TestLedger, ORIGIN, chunked, freshDir, logKey, logVerifier, openTestLedger, settled } from './support.js';

const sign = (payload: Parameters<typeof signRecord>[0], who: { signer: Parameters<typeof signRecord>[1] }) => signRecord(payload, who.signer, { verify });
const leafHex = (entry: Uint8Array) => createHash('sha256').update(Uint8Array.of(0)).update(entry).digest('hex');

const W1 = sha256Id('w1');
const W2 = sha256Id('w2');
const W3 = sha256Id('w3');

async function rejection(p: Promise<unknown>): Promise<LedgerError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(LedgerError);
  return err as LedgerError;
}

/** Checks a bundle as spec/bundles.md says a creator does, with independent verifiers. */
function checkBundle(bundle: ProofBundle): UseItem {
  expect(bundle.type).toBe('pvl.proof-bundle/v1');
  const { checkpoint } = openCheckpoint(bundle.checkpoint, logVerifier, { origin: bundle.origin });
  const entry = fromBase64(bundle.log.entry)!;
  const leaf = Buffer.from(leafHex(entry), 'hex');
  verifyInclusion(nodeHasher, bundle.log.index, checkpoint.size, leaf, bundle.log.inclusionProof.map((h) => fromBase64(h)!), checkpoint.rootHash);
  const record = parseRecord(entry, { verify });
  if (record.payload.type !== 'training-use') throw new Error('not a training use');
  let decoded: UseItem;
  if (bundle.manifest) {
    const m = bundle.manifest;
    expect({ root: m.root, count: m.count }).toEqual(record.payload.manifest);
    decoded = verifyManifestItem(fromBase64(m.item)!, m.position, m.count, m.proof.map((h) => fromBase64(h)!), Buffer.from(m.root, 'hex'));
  } else {
    // An inline item's position is not in the bundle: some inline item must name the work.
    decoded = record.payload.items!.find((it) => it.work.includes(bundle.work as never))!;
    expect(decoded).toBeDefined();
  }
  expect(decoded.work).toContain(bundle.work);
  return decoded;
}

/** alice and bob grant w1 / w2 (bob forbids generative training); builder1 uses w1, w2, w3. */
async function seed(ledger: TestLedger) {
  const bobUses = { ...ALL_ALLOWED, ai_generative_training: { use: 'notAllowed' as const } };
  const [ca, ga, gb] = await ledger.submit([sign(creator(alice), alice), sign(grant(alice, [[W1]]), alice), sign(grant(bob, [[W2]], { uses: bobUses }), bob)]);
  const useEntry = sign(use(builder1, 'm1@1', [item(W1, { index: ga.index }), item(W2, { leafHash: gb.leafHash }), item(W3, { none: true })]), builder1);
  const [u] = await ledger.submit([useEntry]);
  await settled(ledger, u.index);
  return { ca, ga, gb, u, useEntry };
}

function summary(reports: UseReport[]) {
  return reports.map((r) => ({ useIndex: r.useIndex, position: r.position, model: r.model.name, via: r.via?.lineageIndex ?? null, verdict: r.verdict.verdict }));
}

describe('submit', () => {
  it('appends records in order, answers leaf hashes, and finds duplicates', async () => {
    const ledger = await openTestLedger(await freshDir());
    const entries = [sign(creator(alice), alice), sign(grant(alice, [[W1]]), alice)];
    const results = await ledger.submit(entries);
    expect(results).toEqual(entries.map((e, i) => ({ index: i, leafHash: leafHex(e), duplicate: false })));
    const again = await ledger.submit([entries[1], sign(creator(bob), bob)]);
    expect(again).toEqual([
      { index: 1, leafHash: leafHex(entries[1]), duplicate: true },
      { index: 2, leafHash: expect.any(String), duplicate: false },
    ]);
    expect(ledger.log.sequencedSize).toBe(3);
  });

  it('sequences concurrent submissions without losing any, in one gap-free range', async () => {
    const ledger = await openTestLedger(await freshDir());
    const entries = Array.from({ length: 60 }, (_, i) => sign(grant(alice, [[sha256Id(`concurrent ${i}`)]]), alice));
    const results = (await Promise.all(entries.map((e) => ledger.submit([e])))).flat();
    expect(results.map((r) => r.index).sort((a, b) => a - b)).toEqual(entries.map((_, i) => i));
    results.forEach((r, i) => expect(r.leafHash).toBe(leafHex(entries[i])));
    await settled(ledger, 59);
    expect((await ledger.consentsOfWork(sha256Id('concurrent 7'))).consents.map((c) => c.index)).toEqual([results[7].index]);
  });

  it('rejects a whole batch when one envelope is bad, naming it', async () => {
    const ledger = await openTestLedger(await freshDir());
    const forged = signRaw(JSON.parse(JSON.stringify(grant(alice, [[W1]]))), bob, alice.ref);
    const err = await rejection(ledger.submit([sign(creator(alice), alice), forged]));
    expect(err.field).toBe('[1].signatures[0].sig');
    expect(err.code).toBe('bad-signature');
    const badWork = signRaw({ ...grant(alice, [[W1]]), works: [['sha256:nothex']] }, alice);
    const err2 = await rejection(ledger.submit([sign(creator(bob), bob), sign(creator(carol), carol), badWork]));
    expect(err2.field).toBe('[2].payload.works[0][0]');
    expect(ledger.log.sequencedSize).toBe(0);
  });
});

describe('admission checks', () => {
  it('enforces revocation, supersession, manifest and consent-reference rules', async () => {
    const ledger = await openTestLedger(await freshDir());
    const [g] = await ledger.submit([sign(grant(alice, [[W1]]), alice)]);
    const expectField = async (entry: Uint8Array, field: string) => expect((await rejection(ledger.submit([sign(creator(carol), carol), entry]))).field).toBe(field);

    await expectField(sign(revocation(bob, { index: g.index }), bob), '[1].payload.grant');
    await expectField(sign(revocation(alice, { index: 99 }), alice), '[1].payload.grant');
    await expectField(sign(grant(bob, [[W2]], { supersedes: { index: g.index } }), bob), '[1].payload.supersedes');
    await expectField(sign(grant(alice, [[W2]], { supersedes: { leafHash: '00'.repeat(32) } }), alice), '[1].payload.supersedes');
    await expectField(sign(use(builder1, 'm@1', [item(W1, { index: g.index }), item(W2, { index: 42 })]), builder1), '[1].payload.items[1].consent');
    await expectField(sign(use(builder1, 'm@1', [item(W1, { leafHash: 'ab'.repeat(32) })]), builder1), '[1].payload.items[0].consent');
    const manifestUse = sign(use(builder1, 'm@2', [], { items: undefined, manifest: { root: '11'.repeat(32), count: 3 } }), builder1);
    expect((await rejection(ledger.submit([manifestUse]))).code).toBe('manifest-missing');
    expect(ledger.log.sequencedSize).toBe(1);

    // The same records are admitted once their targets are in the log.
    const ok = await ledger.submit([
      sign(revocation(alice, { index: g.index }), alice),
      sign(grant(alice, [[W2]], { supersedes: { leafHash: g.leafHash } }), alice),
      sign(use(builder1, 'm@1', [item(W1, { index: g.index })]), builder1),
    ]);
    expect(ok.map((r) => r.index)).toEqual([1, 2, 3]);
  });

  it('admits a duplicate of a record that would no longer pass the checks', async () => {
    const ledger = await openTestLedger(await freshDir());
    const [g] = await ledger.submit([sign(grant(alice, [[W1]]), alice)]);
    const superseding = sign(grant(alice, [[W1], [W2]], { supersedes: { index: g.index } }), alice);
    await ledger.submit([superseding]);
    expect(await ledger.submit([superseding])).toEqual([{ index: 1, leafHash: leafHex(superseding), duplicate: true }]);
    const second = sign(grant(alice, [[W3]], { supersedes: { index: g.index } }), alice);
    expect((await rejection(ledger.submit([second]))).field).toBe('[0].payload.supersedes');
  });
});

describe('queries, verdicts and bundles', () => {
  it('reports uses of works with verdicts and bundles that verify', async () => {
    const ledger = await openTestLedger(await freshDir());
    const { ga, gb, u } = await seed(ledger);
    const w1 = (await ledger.usesOfWork(W1)).uses;
    expect(summary(w1)).toEqual([{ useIndex: u.index, position: 0, model: 'm1', via: null, verdict: 'consented' }]);
    expect(w1[0].verdict.consentIndex).toBe(ga.index);
    expect(summary((await ledger.usesOfWork(W2)).uses)).toEqual([{ useIndex: u.index, position: 1, model: 'm1', via: null, verdict: 'use-not-allowed' }]);
    expect(summary((await ledger.usesOfWork(W3)).uses)).toEqual([{ useIndex: u.index, position: 2, model: 'm1', via: null, verdict: 'no-consent' }]);
    expect((await ledger.usesOfWork(sha256Id('unknown'))).uses).toEqual([]);
    for (const r of [...w1, ...((await ledger.usesOfWork(W2)).uses)]) {
      expect(checkBundle(r.bundle)).toEqual(r.item);
    }

    expect((await ledger.consentsOfWork(W2)).consents.map((c) => ({ index: c.index, author: c.author, status: c.status }))).toEqual([{ index: gb.index, author: bob.ref, status: 'active' }]);
    const creatorUses = await ledger.usesOfCreator(alice.ref);
    expect(creatorUses.works).toEqual([W1]);
    expect(summary(creatorUses.uses)).toEqual(summary(w1));
    expect(await ledger.model(builder1.ref, 'm1', '1')).toEqual({ model: `${builder1.ref}/m1@1`, uses: [{ index: u.index, items: 3, manifest: null }], parents: [], children: [], retired: null });
    expect(await ledger.model(builder1.ref, 'nope', '1')).toBeUndefined();
  });

  it('follows revocations, lineage and usesSince in log order', async () => {
    const ledger = await openTestLedger(await freshDir());
    const { ga, u } = await seed(ledger);
    // Asked before the later records: what the query remembered must grow with the index.
    expect(summary((await ledger.usesOfWork(W1)).uses)).toHaveLength(1);
    expect((await ledger.usesSince({ creator: alice.ref }, null)).uses).toHaveLength(1);
    const [l] = await ledger.submit([sign(lineage(builder2, 'm2@1', { builder: builder1, model: 'm1@1' }), builder2)]);
    const [u2] = await ledger.submit([sign(use(builder1, 'm3@1', [item(W3, { none: true }), item(W1, { index: ga.index })]), builder1)]);
    const [rv] = await ledger.submit([sign(revocation(alice, { index: ga.index }, '2026-01-01T00:00:00Z', '2026-08-01T00:00:00Z'), alice)]);
    await settled(ledger, rv.index);
    expect(summary((await ledger.usesOfWork(W1)).uses)).toEqual([
      { useIndex: u.index, position: 0, model: 'm1', via: null, verdict: 'consented' },
      { useIndex: u.index, position: 0, model: 'm2', via: l.index, verdict: 'consented' },
      { useIndex: u2.index, position: 1, model: 'm3', via: null, verdict: 'consented' },
    ]);
    // Proofs are at the checkpoint the reports name, not the one of the first query.
    for (const r of (await ledger.usesOfWork(W1)).uses) checkBundle(r.bundle);
    expect((await ledger.consentsOfWork(W1)).consents.map((c) => c.status)).toEqual(['revoked']);
    const since = (await ledger.usesSince({ creator: alice.ref }, { useIndex: u.index, position: 0 })).uses;
    expect(summary(since)).toEqual([{ useIndex: u2.index, position: 1, model: 'm3', via: null, verdict: 'consented' }]);
    expect((await ledger.usesSince({ works: [W1, W3] }, { useIndex: u2.index, position: 1 })).uses).toEqual([]);
    expect(((await ledger.model(builder2.ref, 'm2', '1')) as { parents: unknown[] }).parents).toHaveLength(1);
  });

  it('indexes manifest uses and proves their items in bundles', async () => {
    const ledger = await openTestLedger(await freshDir());
    const [g] = await ledger.submit([sign(grant(alice, [[W1]]), alice)]);
    const items = Array.from({ length: 700 }, (_, i) => item(i === 300 ? W1 : sha256Id(`filler ${i}`), i === 300 ? { index: g.index } : { none: true }));
    const parts: Uint8Array[] = [];
    const m = await writeManifest(items, items.length, (c) => void parts.push(c.slice()));
    const root = toHex(m.root);
    await ledger.putManifest(chunked(Buffer.concat(parts), 5000), { root, count: 700 });
    const seen: Array<{ use: UseReport; claimants: string[] }> = [];
    ledger.onUse((use, claimants) => seen.push({ use, claimants }));
    const [u] = await ledger.submit([sign(use(builder1, 'big@1', [], { items: undefined, manifest: { root, count: 700 } }), builder1)]);
    await settled(ledger, u.index);
    const uses = (await ledger.usesOfWork(W1)).uses;
    expect(summary(uses)).toEqual([{ useIndex: u.index, position: 300, model: 'big', via: null, verdict: 'consented' }]);
    expect(checkBundle(uses[0].bundle)).toEqual(items[300]);
    // Claimed by the use: it no longer expires.
    expect(await ledger.getManifest(root)).toEqual({ root, count: 700, useIndexes: [u.index], expires: null });
    expect(summary((await ledger.usesOfWork(sha256Id('filler 699'))).uses)).toEqual([{ useIndex: u.index, position: 699, model: 'big', via: null, verdict: 'no-consent' }]);
    // Only the claimed item is announced, with alice as its claimant.
    expect(seen.map((s) => ({ position: s.use.position, claimants: s.claimants }))).toEqual([{ position: 300, claimants: [alice.ref] }]);
  });
});

describe('durability of the index', () => {
  it('answers the same after close and reopen, and keeps admitting against the replayed log', async () => {
    const dir = await freshDir();
    const first = await openTestLedger(dir);
    const { ga } = await seed(first);
    const before = { w1: await first.usesOfWork(W1), c: await first.consentsOfWork(W1) };
    const size = first.log.checkpoint.checkpoint.size;
    await first.close();
    const second = await openTestLedger(dir);
    expect(second.indexedSize).toBe(size);
    expect(await second.usesOfWork(W1)).toEqual(before.w1);
    expect(await second.consentsOfWork(W1)).toEqual(before.c);
    const [rv] = await second.submit([sign(revocation(alice, { index: ga.index }), alice)]);
    expect(rv.index).toBe(size);
  });

  it('keeps the policy facts with the size they cover; a store without them is fed again from 0', async () => {
    const dir = await freshDir();
    const first = await openTestLedger(dir);
    const { ga } = await seed(first);
    const [rv] = await first.submit([sign(revocation(alice, { index: ga.index }, '2026-01-01T00:00:00Z', '2026-08-01T00:00:00Z'), alice)]);
    await settled(first, rv.index);
    const ask = async (ledger: TestLedger) => ({ w1: (await ledger.usesOfWork(W1)).uses, c: await ledger.consentsOfWork(W1), a: await ledger.usesOfCreator(alice.ref), m: await ledger.model(builder1.ref, 'm1', '1') });
    const before = await ask(first);
    const size = first.log.sequencedSize;
    await first.close();
    const store = await LevelLogStore.open(dir);
    const policy = store.space('policy');
    expect(readU64(await policy.get(Uint8Array.of(0x46)) ?? new Uint8Array(8))).toBe(size);
    // As a store written before the facts were kept: no policy space at all.
    await policy.clear({ gte: Uint8Array.of(0), lt: Uint8Array.of(0xff) });
    await store.close();
    const second = await openTestLedger(dir);
    expect(await ask(second)).toEqual(before);
    expect((await rejection(second.submit([sign(revocation(bob, { index: ga.index }), bob)]))).field).toBe('[0].payload.grant');
  });

  it('catches the index up with entries integrated while it was not running', async () => {
    const dir = await freshDir();
    const first = await openTestLedger(dir);
    const { ga, u } = await seed(first);
    await first.close();
    // Another writer integrates more records but never indexes them (a crash after integration).
    const store = await LevelLogStore.open(dir);
    const log = await Log.open(store, { origin: ORIGIN, signer: nodeSigner(logKey), hasher: nodeHasher });
    const [a] = await log.append([sign(use(builder2, 'late@1', [item(W1, { index: ga.index })]), builder2)]);
    await log.integrate();
    await log.close();
    const second = await openTestLedger(dir);
    expect(second.indexedSize).toBe(a.index + 1);
    expect(summary((await second.usesOfWork(W1)).uses).map((s) => s.useIndex)).toEqual([u.index, a.index]);
  });

  it('reindex clears and rebuilds identical answers', async () => {
    const ledger = await openTestLedger(await freshDir());
    await seed(ledger);
    const ask = async () => ({ w1: (await ledger.usesOfWork(W1)).uses, w2: (await ledger.usesOfWork(W2)).uses, c: await ledger.consentsOfWork(W2), a: await ledger.usesOfCreator(bob.ref) });
    const before = await ask();
    await ledger.reindex();
    expect(ledger.indexedSize).toBe(ledger.log.checkpoint.checkpoint.size);
    expect(await ask()).toEqual(before);
  });
});

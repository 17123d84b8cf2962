/**
 * verifyUseReport offline: a valid bundle beside labels it does not cover. Each label must agree
 * with the proof, the item must be the watcher's, and only proven values come back. Leaf hashes
 * are recomputed with node:crypto (independent of the project's hasher).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { UseFault, WatchedWorks, perceptualDistance, verifyUseReport, type ProofBundle } from '../../src/client/index.js';
import { MemoryTree } from '../../src/merkle/index.js';
import { generatePrivateKey, nobleSigner, parseVerifierKey, signCheckpoint, verifierKeyOf } from '../../src/note/index.js';
import { formatKeyRef, signRecord, type TrainingUseRecord } from '../../src/records/index.js';

const leafHash = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(Buffer.from([0])).update(b).digest());
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const workOf = (i: number) => `sha256:${createHash('sha256').update(`work ${i}`).digest('hex')}`;

const logKey = generatePrivateKey('example.org/log');
const verifier = parseVerifierKey(verifierKeyOf(logKey));
const builder = generatePrivateKey('builder');
const builderRef = formatKeyRef(builder.publicKey);
const P = 'phash:00000000000000ff';

/** An inline training use at log index 1: item 0 names work 0, items 1 and 2 both name work 1 (item 2 also a perceptual id). */
function report(position: number, work: string, extra: Record<string, unknown> = {}) {
  const record: TrainingUseRecord = {
    type: 'training-use', v: 1, author: builderRef, time: '2026-11-23T05:00:00Z',
    model: { name: 'm', version: '1' }, purpose: 'training', commercial: false,
    items: [{ work: [workOf(0)] }, { work: [workOf(1)] }, { work: [workOf(1), 'phash:00000000000000f0'] }].map((it) => ({ ...it, consent: { none: true } })) as TrainingUseRecord['items'],
  };
  const entry = signRecord(record, nobleSigner(builder));
  const tree = new MemoryTree();
  tree.append(leafHash(new TextEncoder().encode('x')));
  tree.append(leafHash(entry));
  const checkpoint = signCheckpoint({ origin: logKey.name, size: 2, rootHash: tree.root(), extensions: [] }, nobleSigner(logKey));
  const bundle: ProofBundle = { type: 'pvl.proof-bundle/v1', origin: logKey.name, checkpoint, log: { index: 1, entry: b64(entry), inclusionProof: tree.inclusionProof(1).map(b64) }, manifest: null, work };
  return { useIndex: 1, position, model: { builder: builderRef, name: 'm', version: '1' }, via: null, verdict: { verdict: 'no-consent', reason: 'no grant' }, bundle, ...extra };
}

describe('verifyUseReport', () => {
  const mine = new WatchedWorks([[workOf(1)]]);

  it('returns the proven index, position, work and model, and the verdict only as a claim', async () => {
    const { use, claims } = await verifyUseReport(report(2, workOf(1)), verifier, mine, { eventId: '1.2' });
    expect([use.id, use.index, use.position, use.work, use.model]).toEqual(['1.2', 1, 2, workOf(1), { builder: builderRef, name: 'm', version: '1' }]);
    expect(claims).toEqual({ verdict: { verdict: 'no-consent', reason: 'no grant' } });
  });

  it.each([
    ['an inflated index', report(2, workOf(1), { useIndex: 9007199254740000 }), {}, /says use 9007199254740000\.2, but its bundle proves log index 1 item 2/],
    ['a position whose item does not name the work', report(0, workOf(1)), {}, /step 5/],
    ['a position beyond the items', report(7, workOf(1)), {}, /no inline item at position 7/],
    ['an SSE id that is not the use', report(2, workOf(1)), { eventId: '1.1' }, /event id "1\.1" is not the proven use 1\.2/],
    ['a relabelled model', report(2, workOf(1), { model: { builder: builderRef, name: 'innocent', version: '1' } }), {}, /the proven record is m@1/],
    ['a relabelled via model', report(2, workOf(1), { via: { lineageIndex: 0, model: { builder: builderRef, name: 'innocent', version: '1' } } }), {}, /the proven record is m@1/],
    ['another work', report(0, workOf(0)), {}, /is none of the watched work/],
    ['no report at all', null, { eventId: '1.2' }, /not a JSON object/],
  ])('%s is a fault', async (_what, r, opts, message) => {
    const check = verifyUseReport(r, verifier, mine, opts);
    await expect(check).rejects.toBeInstanceOf(UseFault);
    await expect(check).rejects.toThrow(message);
  });

  it('an inherited use: via.model must be the proven one, the derived model is the server’s claim', async () => {
    const derived = { builder: 'ed25519:' + '0'.repeat(64), name: 'chat', version: '1' };
    const { use, claims } = await verifyUseReport(report(1, workOf(1), { model: derived, via: { lineageIndex: 9, model: { builder: builderRef, name: 'm', version: '1' } } }), verifier, mine);
    expect(use.model.name).toBe('m');
    expect(claims.derived).toEqual({ model: derived, lineageIndex: 9 });
  });

  it('a near copy of a watched perceptual id is labelled with the watched work and the distance computed here', async () => {
    const watched = new WatchedWorks([[workOf(5), P]]);
    const { use } = await verifyUseReport(report(2, workOf(1)), verifier, watched);
    expect([use.work, use.near]).toEqual(['phash:00000000000000f0', { of: workOf(5), id: P, distance: 4 }]);
    expect(perceptualDistance(P, 'phash:ffffffffffffffff')).toBe(56);
    expect(perceptualDistance(P, workOf(1))).toBeUndefined();
    await expect(verifyUseReport(report(2, workOf(1)), verifier, new WatchedWorks([['phash:ffffffffffffffff']]))).rejects.toThrow(/none of/);
  });

  it('keeps only typed verdict fields', async () => {
    const { claims } = await verifyUseReport(report(2, workOf(1), { verdict: { verdict: 'consented', reason: { html: '<b>' }, distance: 'far' } }), verifier, mine);
    expect(claims.verdict).toEqual({ verdict: 'consented' });
  });
});

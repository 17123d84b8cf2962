/**
 * Split-view evidence (src/client/evidence.ts) against the independent RFC 6962 reference
 * (test/support/rfc6962-reference.ts): checkpoints are signed over reference roots, proofs are
 * reference proofs, and whether two histories really disagree is decided by comparing the
 * entries themselves.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkEvidence, EVIDENCE_TYPE, makeEvidence, provesConsistency } from '../../src/client/evidence.js';
import { generatePrivateKey, nobleSigner, openCheckpoint, parseVerifierKey, signCheckpoint, verifierKeyOf, type Checkpoint } from '../../src/note/index.js';
import { refConsistency, refMth } from '../support/rfc6962-reference.js';

const ORIGIN = 'test.example/evidence';
const key = generatePrivateKey(ORIGIN);
const vkey = verifierKeyOf(key);
const verifier = parseVerifierKey(vkey);
const enc = new TextEncoder();

const entries = (label: string, n: number) => Array.from({ length: n }, (_, i) => enc.encode(`${label}${i}`));

/** A checkpoint of the reference tree over `d`, signed with `k`, as a "seen" view. */
function seen(d: Uint8Array[], source: string, k = key) {
  const checkpoint: Checkpoint = { origin: k.name, size: d.length, rootHash: refMth(d), extensions: [] };
  const note = signCheckpoint(checkpoint, nobleSigner(k));
  return { source, note, checkpoint: openCheckpoint(note, parseVerifierKey(verifierKeyOf(k))).checkpoint };
}

/** The evidence a monitor builds from a smaller view of `a` and the log's view of `b`. */
function evidenceFor(a: Uint8Array[], b: Uint8Array[]) {
  const m = a.length;
  const proof = m > 0 && m < b.length ? refConsistency(m, b) : undefined;
  const prefix = m > 0 && m < b.length ? refMth(b.slice(0, m)) : undefined;
  return makeEvidence(vkey, seen(a, 'witness'), seen(b, 'log'), proof, prefix);
}

describe('split-view evidence', () => {
  it('holds for two roots at one size, and not for one root', () => {
    const ev = evidenceFor(entries('a', 7), entries('b', 7));
    expect(ev.kind).toBe('same-size');
    expect(checkEvidence(JSON.parse(JSON.stringify(ev)), verifier)).toMatchObject({ holds: true, sizes: [7, 7] });
    expect(checkEvidence(evidenceFor(entries('a', 7), entries('a', 7)), verifier).holds).toBe(false);
  });

  it('holds for a prefix that differs, proven by the larger tree', () => {
    const ev = evidenceFor(entries('a', 10), entries('b', 15));
    expect(ev).toMatchObject({ type: EVIDENCE_TYPE, kind: 'prefix-mismatch', logVkey: vkey, origin: ORIGIN });
    expect(checkEvidence(ev, verifier)).toMatchObject({ holds: true, kind: 'prefix-mismatch', sizes: [10, 15] });
  });

  it('does not hold when the larger tree extends the smaller one', () => {
    const a = entries('a', 15);
    const ev = evidenceFor(a.slice(0, 10), a);
    expect(ev.kind).toBe('no-consistency-proof');
    expect(checkEvidence(ev, verifier).holds).toBe(false);
  });

  it('does not hold when the prefix root is not proven, or the proof is missing', () => {
    const ev = evidenceFor(entries('a', 10), entries('b', 15));
    // A made-up prefix root: the proof no longer leads to the larger checkpoint.
    const forged = { ...ev, prefixRoot: Buffer.from(refMth(entries('c', 10))).toString('base64') };
    expect(checkEvidence(forged, verifier).holds).toBe(false);
    expect(checkEvidence({ ...ev, consistencyProof: null }, verifier).holds).toBe(false);
  });

  it('refuses notes not signed by the log key, other origins, and malformed documents', () => {
    const ev = evidenceFor(entries('a', 4), entries('b', 4));
    const other = generatePrivateKey(ORIGIN);
    const foreign = { ...ev, second: { ...ev.second, note: seen(entries('b', 4), 'log', other).note } };
    expect(() => checkEvidence(foreign, verifier)).toThrow(expect.objectContaining({ code: 'bad-evidence-signature', field: 'second.note' }));
    expect(() => checkEvidence({ ...ev, type: 'something-else' }, verifier)).toThrow(expect.objectContaining({ code: 'bad-evidence' }));
    expect(() => checkEvidence({ ...ev, first: {} }, verifier)).toThrow(expect.objectContaining({ code: 'bad-evidence', field: 'first.note' }));
    const bad = evidenceFor(entries('a', 3), entries('b', 9));
    expect(() => checkEvidence({ ...bad, prefixRoot: 'not base64!' }, verifier)).toThrow(expect.objectContaining({ code: 'bad-evidence', field: 'prefixRoot' }));
  });

  it('holds exactly when the histories disagree on the shorter one (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 24 }), fc.integer({ min: 0, max: 24 }), fc.integer({ min: 0, max: 30 }), (m, extra, forkAt) => {
        const n = m + extra;
        const a = entries('x', m);
        // b agrees with a on its first `forkAt` entries, then diverges.
        const b = Array.from({ length: n }, (_, i) => (i < forkAt && i < m ? a[i] : enc.encode(`y${i}`)));
        const disagree = b.slice(0, m).some((e, i) => e !== a[i]);
        const verdict = checkEvidence(evidenceFor(a, b), verifier);
        expect(verdict.holds).toBe(disagree);
        expect(provesConsistency(seen(a, 'a').checkpoint, seen(b, 'b').checkpoint, m < n ? refConsistency(m, b) : [])).toBe(!disagree);
      }),
      { numRuns: 80 },
    );
  });
});

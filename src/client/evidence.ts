/**
 * Split-view evidence (spec/witness.md, "Split-view evidence"): two checkpoints signed by the
 * same log key that cannot both be views of one append-only log. Browser-safe.
 *
 * Conclusive evidence is checkable offline by anyone holding the log's verifier key:
 * - `same-size`: both checkpoints have the same size and different root hashes;
 * - `prefix-mismatch`: sizes m < n; `prefixRoot` is the root of the first m entries of the
 *   larger tree, proven by an RFC 9162 consistency proof from (m, prefixRoot) to the larger
 *   checkpoint, and it differs from the smaller checkpoint's root.
 * `no-consistency-proof` records that the log did not produce a valid proof between the two
 * (the failed proof, if any, is kept); it is reported but is not conclusive on its own.
 * `rollback` records that the log served the smaller checkpoint as its latest after a monitor had
 * verified the larger: kept for the record, not conclusive (notes sign no time of serving).
 */
import { LedgerError } from '../errors.js';
import { defaultHasher, equalHashes, verifyConsistency } from '../merkle/index.js';
import { openCheckpoint, type Checkpoint, type Verifier } from '../note/index.js';
import { fromBase64, toBase64 } from '../records/index.js';

export const EVIDENCE_TYPE = 'pvl.split-view-evidence/v1';

export type EvidenceKind = 'same-size' | 'prefix-mismatch' | 'no-consistency-proof' | 'rollback';

export interface SeenCheckpoint {
  /** Where it was seen: `log <url>`, `witness <url>`, `saved <file>`. */
  source: string;
  note: string;
}

export interface SplitViewEvidence {
  type: typeof EVIDENCE_TYPE;
  kind: EvidenceKind;
  /** The log verifier key both notes verify under. */
  logVkey: string;
  origin: string;
  /** The smaller (or, at equal sizes, either) checkpoint. */
  first: SeenCheckpoint & { size: number };
  second: SeenCheckpoint & { size: number };
  /** Base64 hashes: the consistency proof from first.size to second.size, as the log served it. */
  consistencyProof: string[] | null;
  /** Base64: the root of the first `first.size` entries of the second tree (prefix-mismatch). */
  prefixRoot: string | null;
  /** ISO 8601 time the evidence was found. */
  foundAt: string;
}

export class EvidenceError extends LedgerError {}

const decodeHash = (b64: unknown, field: string): Uint8Array => {
  const h = typeof b64 === 'string' ? fromBase64(b64) : undefined;
  if (!h || h.length !== 32) throw new EvidenceError('bad-evidence', 'must be a base64 32-byte hash', field);
  return h;
};

/** Whether a proof (possibly absent) proves `larger` extends `smaller`. */
export function provesConsistency(smaller: Checkpoint, larger: Checkpoint, proof: Uint8Array[] | undefined): boolean {
  if (smaller.size === larger.size) return equalHashes(smaller.rootHash, larger.rootHash);
  if (smaller.size === 0) return true;
  if (!proof) return false;
  try {
    verifyConsistency(defaultHasher, smaller.size, larger.size, proof, smaller.rootHash, larger.rootHash);
    return true;
  } catch {
    return false;
  }
}

/**
 * Builds evidence for two log-signed checkpoints (a.size ≤ b.size) that the caller found
 * inconsistent. `prefixRoot` (root of b's first a.size entries), when known, makes it conclusive.
 */
export function makeEvidence(
  logVkey: string,
  a: SeenCheckpoint & { checkpoint: Checkpoint },
  b: SeenCheckpoint & { checkpoint: Checkpoint },
  proof: Uint8Array[] | undefined,
  prefixRoot?: Uint8Array,
  now = new Date(),
): SplitViewEvidence {
  const same = a.checkpoint.size === b.checkpoint.size;
  const provenPrefix = !same && prefixRoot !== undefined && !equalHashes(prefixRoot, a.checkpoint.rootHash) && provesConsistency({ ...a.checkpoint, rootHash: prefixRoot }, b.checkpoint, proof);
  return {
    type: EVIDENCE_TYPE,
    kind: same ? 'same-size' : provenPrefix ? 'prefix-mismatch' : 'no-consistency-proof',
    logVkey,
    origin: a.checkpoint.origin,
    first: { source: a.source, size: a.checkpoint.size, note: a.note },
    second: { source: b.source, size: b.checkpoint.size, note: b.note },
    consistencyProof: proof ? proof.map(toBase64) : null,
    prefixRoot: provenPrefix ? toBase64(prefixRoot!) : null,
    foundAt: now.toISOString(),
  };
}

export interface EvidenceVerdict {
  holds: boolean;
  kind: EvidenceKind;
  reason: string;
  sizes: [number, number];
}

/**
 * Checks an evidence document offline against the log key: both notes must verify, share the
 * origin, and be provably inconsistent. Malformed documents or bad signatures throw.
 */
export function checkEvidence(doc: unknown, log: Verifier): EvidenceVerdict {
  const ev = doc as Partial<SplitViewEvidence>;
  if (!ev || typeof ev !== 'object' || ev.type !== EVIDENCE_TYPE) throw new EvidenceError('bad-evidence', `must have type ${EVIDENCE_TYPE}`, 'type');
  const open = (part: unknown, field: string): Checkpoint => {
    const note = (part as { note?: unknown } | undefined)?.note;
    if (typeof note !== 'string') throw new EvidenceError('bad-evidence', 'must hold a signed checkpoint note', `${field}.note`);
    try {
      return openCheckpoint(note, log).checkpoint;
    } catch (e) {
      throw new EvidenceError('bad-evidence-signature', `does not verify under the log key: ${(e as Error).message}`, `${field}.note`);
    }
  };
  const [x, y] = [open(ev.first, 'first'), open(ev.second, 'second')];
  if (x.origin !== y.origin) throw new EvidenceError('bad-evidence', `the two checkpoints are of different logs (${x.origin}, ${y.origin})`, 'second');
  const [small, large] = x.size <= y.size ? [x, y] : [y, x];
  const sizes: [number, number] = [small.size, large.size];
  const kind = (ev.kind ?? 'no-consistency-proof') as EvidenceKind;
  if (small.size === large.size) {
    const holds = !equalHashes(small.rootHash, large.rootHash);
    return { holds, kind: 'same-size', sizes, reason: holds ? `two different roots for tree size ${small.size}` : `the two checkpoints agree (size ${small.size}, same root)` };
  }
  const proof = Array.isArray(ev.consistencyProof) ? ev.consistencyProof.map((h, i) => decodeHash(h, `consistencyProof[${i}]`)) : undefined;
  if (provesConsistency(small, large, proof)) {
    const rolledBack = kind === 'rollback' ? `; the log went back from size ${large.size} to ${small.size}, which the notes alone cannot prove` : '';
    return { holds: false, kind, sizes, reason: `the consistency proof shows size ${large.size} extends size ${small.size}${rolledBack}` };
  }
  if (ev.prefixRoot !== null && ev.prefixRoot !== undefined) {
    const prefix = decodeHash(ev.prefixRoot, 'prefixRoot');
    if (!equalHashes(prefix, small.rootHash) && provesConsistency({ ...small, rootHash: prefix }, large, proof)) {
      return { holds: true, kind: 'prefix-mismatch', sizes, reason: `the first ${small.size} entries of tree ${large.size} have a different root than checkpoint ${small.size}` };
    }
  }
  return { holds: false, kind, sizes, reason: `no consistency proof between sizes ${small.size} and ${large.size}, but no proof of inconsistency either` };
}

/**
 * An independent RFC 6962 §2.1 reference, written straight from the RFC's recursive definitions
 * (MTH, PATH, PROOF/SUBPROOF) with no shared code from src/merkle. Slow (it rehashes subtrees
 * over and over) but obviously correct: the oracle the property tests compare against.
 */
import { sha256 } from '@noble/hashes/sha2.js';

export type Bytes = Uint8Array;

function concat(...parts: Bytes[]): Bytes {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** SHA-256(0x00 || d). */
export function refLeafHash(d: Bytes): Bytes {
  return sha256(concat(Uint8Array.of(0x00), d));
}

/** SHA-256(0x01 || left || right). */
export function refNodeHash(left: Bytes, right: Bytes): Bytes {
  return sha256(concat(Uint8Array.of(0x01), left, right));
}

/** The largest power of two strictly less than n (n > 1). */
function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[n]) over entries D (raw leaf data, not hashes). */
export function refMth(d: Bytes[]): Bytes {
  const n = d.length;
  if (n === 0) return sha256(new Uint8Array(0));
  if (n === 1) return refLeafHash(d[0]);
  const k = largestPowerOfTwoBelow(n);
  return refNodeHash(refMth(d.slice(0, k)), refMth(d.slice(k)));
}

/** PATH(m, D[n]): the audit path of leaf m, leaf-side first. */
export function refPath(m: number, d: Bytes[]): Bytes[] {
  const n = d.length;
  if (m < 0 || m >= n) throw new RangeError(`leaf ${m} is not in a tree of ${n}`);
  if (n === 1) return [];
  const k = largestPowerOfTwoBelow(n);
  if (m < k) return [...refPath(m, d.slice(0, k)), refMth(d.slice(k))];
  return [...refPath(m - k, d.slice(k)), refMth(d.slice(0, k))];
}

/** SUBPROOF(m, D[n], b). */
function refSubproof(m: number, d: Bytes[], b: boolean): Bytes[] {
  const n = d.length;
  if (m === n) return b ? [] : [refMth(d)];
  const k = largestPowerOfTwoBelow(n);
  if (m <= k) return [...refSubproof(m, d.slice(0, k), b), refMth(d.slice(k))];
  return [...refSubproof(m - k, d.slice(k), false), refMth(d.slice(0, k))];
}

/** PROOF(m, D[n]) = SUBPROOF(m, D[n], true), for 0 < m ≤ n. */
export function refConsistency(m: number, d: Bytes[]): Bytes[] {
  if (m <= 0 || m > d.length) throw new RangeError(`no consistency proof from ${m} to ${d.length}`);
  return refSubproof(m, d, true);
}

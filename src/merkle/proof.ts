/**
 * RFC 6962 / RFC 9162 inclusion and consistency proofs.
 *
 * Generation is split in two so that the same code serves an in-memory tree, a tiled log on
 * disk and a manifest: first a *plan* (which subtree hashes the proof needs, pure arithmetic),
 * then a reader fetches those hashes from wherever they live and `proofFromPlan` folds them.
 *
 * Every proof element is the hash of a leaf range [start, end). A range is either one complete
 * subtree (a "node") or, on the right edge of the tree, a run of complete subtrees of decreasing
 * size whose hash is folded right to left — exactly how RFC 6962's MTH splits at the largest
 * power of two.
 */
import { type Hash, type Hasher, assertHash, equalHashes } from './hash.js';
import { MerkleError } from './errors.js';

/** The complete subtree holding leaves [index·2^level, (index+1)·2^level). */
export interface NodeId {
  level: number;
  index: number;
}

/** Per proof element, the complete subtrees whose fold is that element's hash. */
export type ProofPlan = NodeId[][];

/** Reads complete-subtree hashes, in the order asked. */
export type NodeReader = (nodes: NodeId[]) => Hash[] | Promise<Hash[]>;

function checkSize(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new MerkleError('bad-size', `must be a non-negative safe integer, got ${n}`, what);
}

/** Largest power of two strictly below n (n ≥ 2). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** The complete subtrees covering [start, end), left to right; start must be aligned as MTH splits are. */
export function rangeNodes(start: number, end: number): NodeId[] {
  const nodes: NodeId[] = [];
  while (start < end) {
    let level = 0;
    let width = 1;
    // Grow while the subtree stays aligned at `start` and inside the range.
    while (start % (width * 2) === 0 && start + width * 2 <= end) {
      width *= 2;
      level++;
    }
    nodes.push({ level, index: start / width });
    start += width;
  }
  return nodes;
}

/** RFC 6962 §2.1.1 PATH(m, D[n]) as leaf ranges, leaf to root. */
export function inclusionPlan(index: number, size: number): ProofPlan {
  checkSize(size, 'size');
  checkSize(index, 'index');
  if (index >= size) throw new MerkleError('index-out-of-range', `index ${index} is not below tree size ${size}`, 'index');
  const plan: ProofPlan = [];
  let lo = 0;
  let hi = size;
  const ranges: Array<[number, number]> = [];
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (index < lo + k) {
      ranges.push([lo + k, hi]);
      hi = lo + k;
    } else {
      ranges.push([lo, lo + k]);
      lo = lo + k;
    }
  }
  for (let i = ranges.length - 1; i >= 0; i--) plan.push(rangeNodes(ranges[i][0], ranges[i][1]));
  return plan;
}

/**
 * The subtree [lo, hi) of at most `block` leaves (a power of two) where the inclusion path of
 * `index` in a tree of `size` ends. lo is a multiple of block, and the path's elements outside
 * the subtree — inclusionPlan(index, size) after the first inclusionPlan(index - lo, hi - lo).length
 * — depend only on floor(index / block) and size, so neighbouring leaves share them.
 */
export function inclusionSubtree(index: number, size: number, block: number): { lo: number; hi: number } {
  checkSize(size, 'size');
  checkSize(index, 'index');
  if (index >= size) throw new MerkleError('index-out-of-range', `index ${index} is not below tree size ${size}`, 'index');
  let lo = 0;
  let hi = size;
  while (hi - lo > block) {
    const k = splitPoint(hi - lo);
    if (index < lo + k) hi = lo + k;
    else lo += k;
  }
  return { lo, hi };
}

/** RFC 6962 §2.1.2 PROOF(m, D[n]) = SUBPROOF(m, D[n], true) as leaf ranges. */
export function consistencyPlan(size1: number, size2: number): ProofPlan {
  checkSize(size1, 'size1');
  checkSize(size2, 'size2');
  if (size1 > size2) throw new MerkleError('bad-size', `size1 ${size1} is above size2 ${size2}`, 'size1');
  if (size1 === 0) throw new MerkleError('bad-size', 'a consistency proof from size 0 is meaningless', 'size1');
  const ranges: Array<[number, number]> = [];
  let m = size1;
  let lo = 0;
  let hi = size2;
  let complete = true; // SUBPROOF's b: whether the subtree [lo, hi) is the whole old tree so far
  while (m !== hi - lo) {
    const k = splitPoint(hi - lo);
    if (m <= k) {
      ranges.push([lo + k, hi]);
      hi = lo + k;
    } else {
      ranges.push([lo, lo + k]);
      m -= k;
      lo += k;
      complete = false;
    }
  }
  if (!complete) ranges.push([lo, hi]);
  const plan: ProofPlan = [];
  for (let i = ranges.length - 1; i >= 0; i--) plan.push(rangeNodes(ranges[i][0], ranges[i][1]));
  return plan;
}

/** Folds the hashes of a run of complete subtrees (left to right) into their range's hash. */
export function foldRange(hashes: Hash[], hasher: Hasher): Hash {
  let acc = hashes[hashes.length - 1];
  for (let i = hashes.length - 2; i >= 0; i--) acc = hasher.hashChildren(hashes[i], acc);
  return acc;
}

/** Fetches a plan's nodes in one read and folds them into proof hashes. */
export async function proofFromPlan(plan: ProofPlan, read: NodeReader, hasher: Hasher): Promise<Hash[]> {
  const hashes = await read(plan.flat());
  return foldPlan(plan, hashes, hasher);
}

/** Synchronous variant of proofFromPlan for in-memory readers. */
export function foldPlan(plan: ProofPlan, hashes: Hash[], hasher: Hasher): Hash[] {
  const proof: Hash[] = [];
  let at = 0;
  for (const nodes of plan) {
    proof.push(foldRange(hashes.slice(at, at + nodes.length), hasher));
    at += nodes.length;
  }
  return proof;
}

const isOdd = (x: number) => x % 2 === 1;
const half = (x: number) => Math.floor(x / 2);

/**
 * RFC 9162 §2.1.3.2: the root implied by an inclusion proof. Throws if the proof has the wrong
 * length for (index, size).
 */
export function rootFromInclusionProof(hasher: Hasher, index: number, size: number, leafHash: Hash, proof: Hash[]): Hash {
  checkSize(index, 'index');
  checkSize(size, 'size');
  if (index >= size) throw new MerkleError('index-out-of-range', `index ${index} is not below tree size ${size}`, 'index');
  assertHash(leafHash, 'leafHash');
  proof.forEach((p, i) => assertHash(p, `proof[${i}]`));
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) throw new MerkleError('bad-proof', 'inclusion proof is too long', 'proof');
    if (isOdd(fn) || fn === sn) {
      r = hasher.hashChildren(p, r);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = hasher.hashChildren(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new MerkleError('bad-proof', 'inclusion proof is too short', 'proof');
  return r;
}

/** Verifies an inclusion proof against a root; throws MerkleError if it does not hold. */
export function verifyInclusion(hasher: Hasher, index: number, size: number, leafHash: Hash, proof: Hash[], root: Hash): void {
  assertHash(root, 'root');
  const computed = rootFromInclusionProof(hasher, index, size, leafHash, proof);
  if (!equalHashes(computed, root)) throw new MerkleError('root-mismatch', 'inclusion proof does not lead to the root', 'proof');
}

/**
 * RFC 9162 §2.1.4.2: verifies that the tree of size2 with root2 extends the tree of size1 with
 * root1. Size 0 has no meaningful proof and is rejected; equal sizes need an empty proof and
 * equal roots.
 */
export function verifyConsistency(hasher: Hasher, size1: number, size2: number, proof: Hash[], root1: Hash, root2: Hash): void {
  checkSize(size1, 'size1');
  checkSize(size2, 'size2');
  if (size1 > size2) throw new MerkleError('bad-size', `size1 ${size1} is above size2 ${size2}`, 'size1');
  if (size1 === 0) throw new MerkleError('bad-size', 'a consistency proof from size 0 is meaningless', 'size1');
  if (size1 === size2) {
    if (proof.length !== 0) throw new MerkleError('bad-proof', 'equal sizes need an empty proof', 'proof');
    if (!equalHashes(root1, root2)) throw new MerkleError('root-mismatch', 'equal sizes but different roots', 'root2');
    return;
  }
  if (proof.length === 0) throw new MerkleError('bad-proof', 'consistency proof is empty', 'proof');
  assertHash(root1, 'root1');
  assertHash(root2, 'root2');
  proof.forEach((p, i) => assertHash(p, `proof[${i}]`));

  // Step 2: if size1 is a power of two, root1 is the first proof element.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : proof;
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) throw new MerkleError('bad-proof', 'consistency proof is too long', 'proof');
    if (isOdd(fn) || fn === sn) {
      fr = hasher.hashChildren(c, fr);
      sr = hasher.hashChildren(c, sr);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = hasher.hashChildren(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new MerkleError('bad-proof', 'consistency proof is too short', 'proof');
  if (!equalHashes(fr, root1)) throw new MerkleError('root-mismatch', 'consistency proof does not lead to root1', 'root1');
  if (!equalHashes(sr, root2)) throw new MerkleError('root-mismatch', 'consistency proof does not lead to root2', 'root2');
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}

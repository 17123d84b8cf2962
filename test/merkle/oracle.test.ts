/**
 * src/merkle against two independent implementations: the recursive RFC 6962 reference in
 * test/support and merkletreejs (leaves pre-hashed as SHA-256(0x00‖d), hashFn = SHA-256(0x01‖x),
 * default options: an odd last node is promoted, which is exactly RFC 6962's left-balanced split).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { MerkleTree } from 'merkletreejs';
import { describe, expect, it } from 'vitest';
import {
  CompactRange,
  type Hash,
  MemoryTree,
  MerkleError,
  type NodeId,
  consistencyPlan,
  defaultHasher,
  inclusionPlan,
  inclusionSubtree,
  proofFromPlan,
  rangeNodes,
  rootOf,
  verifyConsistency,
  verifyInclusion,
} from '../../src/merkle/index.js';
import { nodeHasher } from '../../src/platform/node-hasher.js';
import { refConsistency, refLeafHash, refMth, refPath } from '../support/rfc6962-reference.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const hexAll = (bs: Uint8Array[]) => bs.map(hex);

/** Distinct, deterministic entries for a tree of `size` leaves. */
function entries(size: number, seed: number): Uint8Array[] {
  return Array.from({ length: size }, (_, i) => new TextEncoder().encode(`${seed}:${i}`));
}

function memoryTree(leafHashes: Hash[]): MemoryTree {
  const tree = new MemoryTree();
  for (const h of leafHashes) tree.append(h);
  return tree;
}

function merkleTreeJs(leafHashes: Hash[]): MerkleTree {
  const hashFn = (x: Buffer) => Buffer.from(sha256(Buffer.concat([Buffer.of(0x01), x])));
  return new MerkleTree(leafHashes.map((h) => Buffer.from(h)), hashFn);
}

const readerOf = (tree: MemoryTree) => (nodes: NodeId[]) => nodes.map((id) => tree.node(id));

/** 'ok' or 'rejected' (MerkleError); anything else is a bug. */
function outcome(f: () => void): 'ok' | 'rejected' {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (e instanceof MerkleError) return 'rejected';
    throw e;
  }
}

/**
 * Which side each PATH(m, D[n]) element sits on, from RFC 6962's recursion. An RFC 9162 verifier
 * only sees (index, size) through this shape, so a proof can only pass for a wrong size when the
 * shapes coincide (e.g. index 0 in sizes 3 and 4).
 */
function pathShape(m: number, n: number): string {
  if (n === 1) return '';
  let k = 1;
  while (k * 2 < n) k *= 2;
  return m < k ? `${pathShape(m, k)}R` : `${pathShape(m - k, n - k)}L`;
}

/** Proof mutations that must all be rejected. */
function mutations(proof: Hash[], pick: number, bit: number, extra: Hash): Array<[string, Hash[]]> {
  const out: Array<[string, Hash[]]> = [['add a hash', [...proof.slice(0, pick % (proof.length + 1)), extra, ...proof.slice(pick % (proof.length + 1))]]];
  if (proof.length > 0) {
    const at = pick % proof.length;
    const flipped = proof.map((h) => h.slice());
    flipped[at][bit >> 3] ^= 1 << (bit & 7);
    out.push(['flip a bit', flipped], ['drop a hash', proof.filter((_, i) => i !== at)]);
  }
  return out;
}

const SMALL_SIZE = fc.integer({ min: 1, max: 300 });
const LARGE_SIZE = fc.integer({ min: 1, max: 4000 });
const SEED = fc.integer({ min: 0, max: 1_000_000 });
const HASH = fc.uint8Array({ minLength: 32, maxLength: 32 });

describe('roots', () => {
  it('the empty tree is SHA-256 of nothing', () => {
    const empty = hex(sha256(new Uint8Array(0)));
    expect(hex(rootOf([]))).toBe(empty);
    expect(hex(new MemoryTree().root())).toBe(empty);
    expect(hex(new CompactRange().root())).toBe(empty);
    expect(hex(refMth([]))).toBe(empty);
  });

  it('rootOf, MemoryTree and CompactRange equal the reference and merkletreejs', () => {
    fc.assert(
      fc.property(LARGE_SIZE, SEED, (size, seed) => {
        const data = entries(size, seed);
        const leafHashes = data.map((d) => defaultHasher.hashLeaf(d));
        expect(hexAll(leafHashes)).toEqual(hexAll(data.map(refLeafHash)));
        const expected = hex(refMth(data));
        expect(hex(rootOf(leafHashes))).toBe(expected);
        expect(hex(memoryTree(leafHashes).root())).toBe(expected);
        expect(merkleTreeJs(leafHashes).getRoot().toString('hex')).toBe(expected);
      }),
      { numRuns: 12 },
    );
  });

  it('every prefix root of a MemoryTree and a CompactRange equals the reference', () => {
    fc.assert(
      fc.property(SMALL_SIZE, SEED, (size, seed) => {
        const data = entries(size, seed);
        const tree = memoryTree(data.map(refLeafHash));
        const range = new CompactRange();
        for (let n = 1; n <= size; n++) {
          range.push(refLeafHash(data[n - 1]));
          const expected = hex(refMth(data.slice(0, n)));
          expect(hex(range.root())).toBe(expected);
          expect(hex(tree.root(n))).toBe(expected);
        }
      }),
      { numRuns: 10 },
    );
  });
});

describe('inclusion proofs', () => {
  it('inclusionPlan + proofFromPlan equal the reference PATH and merkletreejs; verification accepts', async () => {
    await fc.assert(
      fc.asyncProperty(LARGE_SIZE, SEED, fc.nat(), async (size, seed, pick) => {
        const data = entries(size, seed);
        const leafHashes = data.map(refLeafHash);
        const tree = memoryTree(leafHashes);
        const index = pick % size;
        const proof = await proofFromPlan(inclusionPlan(index, size), readerOf(tree), defaultHasher);
        expect(hexAll(proof)).toEqual(hexAll(refPath(index, data)));
        const mtjs = merkleTreeJs(leafHashes);
        const theirs = mtjs.getProof(Buffer.from(leafHashes[index]), index).map((p) => p.data.toString('hex'));
        expect(hexAll(proof)).toEqual(theirs);
        expect(hexAll(tree.inclusionProof(index))).toEqual(hexAll(proof));
        expect(outcome(() => verifyInclusion(defaultHasher, index, size, leafHashes[index], proof, tree.root()))).toBe('ok');
      }),
      { numRuns: 15 },
    );
  });

  it('inclusionSubtree: the path inside the subtree is the subtree proof, and leaves of one block share the rest', () => {
    fc.assert(
      fc.property(SMALL_SIZE, SEED, fc.nat(), fc.nat(), fc.integer({ min: 0, max: 8 }), (size, seed, a, b, log2Block) => {
        const data = entries(size, seed);
        const block = 2 ** log2Block;
        const index = a % size;
        const { lo, hi } = inclusionSubtree(index, size, block);
        expect(lo % block).toBe(0);
        expect(lo <= index && index < hi && hi - lo <= block && hi <= size).toBe(true);
        const path = refPath(index, data);
        const inner = refPath(index - lo, data.slice(lo, hi));
        expect(hexAll(path.slice(0, inner.length))).toEqual(hexAll(inner));
        // Another leaf of the same block (and in the tree) has the same root side.
        const other = Math.min(size - 1, Math.floor(index / block) * block + (b % block));
        const otherSub = inclusionSubtree(other, size, block);
        expect(otherSub).toEqual({ lo, hi });
        const otherPath = refPath(other, data);
        expect(hexAll(otherPath.slice(refPath(other - lo, data.slice(lo, hi)).length))).toEqual(hexAll(path.slice(inner.length)));
      }),
      { numRuns: 100 },
    );
  });

  it('proofs for older tree sizes equal the reference', () => {
    fc.assert(
      fc.property(SMALL_SIZE, SEED, fc.nat(), fc.nat(), (size, seed, a, b) => {
        const data = entries(size, seed);
        const tree = memoryTree(data.map(refLeafHash));
        const older = 1 + (a % size);
        const index = b % older;
        expect(hexAll(tree.inclusionProof(index, older))).toEqual(hexAll(refPath(index, data.slice(0, older))));
      }),
      { numRuns: 50 },
    );
  });

  it('mutated proofs, wrong leaves and wrong indexes are rejected', () => {
    fc.assert(
      fc.property(SMALL_SIZE, SEED, fc.nat(), fc.nat(), fc.nat({ max: 255 }), HASH, (size, seed, pick, other, bit, extra) => {
        const data = entries(size, seed);
        const leafHashes = data.map(refLeafHash);
        const index = pick % size;
        const proof = refPath(index, data);
        const root = refMth(data);
        const leaf = leafHashes[index];
        for (const [what, bad] of mutations(proof, pick, bit, extra)) {
          expect(outcome(() => verifyInclusion(defaultHasher, index, size, leaf, bad, root)), what).toBe('rejected');
        }
        expect(outcome(() => verifyInclusion(defaultHasher, index, size, extra, proof, root))).toBe('rejected');
        const wrongIndex = (index + 1 + (other % size)) % size;
        if (wrongIndex !== index) {
          expect(outcome(() => verifyInclusion(defaultHasher, wrongIndex, size, leaf, proof, root))).toBe('rejected');
        }
        expect(outcome(() => verifyInclusion(defaultHasher, size + (other % 3), size, leaf, proof, root))).toBe('rejected');
      }),
      { numRuns: 60 },
    );
  });

  it('a wrong tree size is rejected unless RFC 6962 gives both sizes the same path shape', () => {
    fc.assert(
      fc.property(SMALL_SIZE, SEED, fc.nat(), fc.integer({ min: 1, max: 600 }), (size, seed, pick, wrongSize) => {
        fc.pre(wrongSize !== size);
        const data = entries(size, seed);
        const index = pick % Math.min(size, wrongSize);
        const proof = refPath(index, data);
        const result = outcome(() => verifyInclusion(defaultHasher, index, wrongSize, refLeafHash(data[index]), proof, refMth(data)));
        expect(result).toBe(pathShape(index, wrongSize) === pathShape(index, size) ? 'ok' : 'rejected');
      }),
      { numRuns: 150 },
    );
  });
});

describe('consistency proofs', () => {
  it('consistencyPlan + proofFromPlan equal the reference PROOF; verification accepts', async () => {
    await fc.assert(
      fc.asyncProperty(LARGE_SIZE, SEED, fc.nat(), async (size2, seed, pick) => {
        const data = entries(size2, seed);
        const tree = memoryTree(data.map(refLeafHash));
        const size1 = 1 + (pick % size2);
        const proof = await proofFromPlan(consistencyPlan(size1, size2), readerOf(tree), defaultHasher);
        expect(hexAll(proof)).toEqual(hexAll(refConsistency(size1, data)));
        expect(hexAll(tree.consistencyProof(size1))).toEqual(hexAll(proof));
        const root1 = refMth(data.slice(0, size1));
        expect(outcome(() => verifyConsistency(defaultHasher, size1, size2, proof, root1, tree.root()))).toBe('ok');
      }),
      { numRuns: 15 },
    );
  });

  it('mutated proofs, swapped roots and wrong sizes are rejected', () => {
    fc.assert(
      fc.property(SMALL_SIZE, SEED, fc.nat(), fc.nat(), fc.nat({ max: 255 }), HASH, (size2, seed, pick, other, bit, extra) => {
        const data = entries(size2, seed);
        const size1 = 1 + (pick % size2);
        const proof = refConsistency(size1, data);
        const root1 = refMth(data.slice(0, size1));
        const root2 = refMth(data);
        const verdict = (s1: number, s2: number, p: Hash[], r1: Hash, r2: Hash) =>
          outcome(() => verifyConsistency(defaultHasher, s1, s2, p, r1, r2));
        for (const [what, bad] of mutations(proof, pick, bit, extra)) {
          expect(verdict(size1, size2, bad, root1, root2), what).toBe('rejected');
        }
        expect(verdict(size1, size2, proof, extra, root2)).toBe('rejected');
        expect(verdict(size1, size2, proof, root1, extra)).toBe('rejected');
        if (size1 !== size2) expect(verdict(size1, size2, proof, root2, root1)).toBe('rejected');
        expect(verdict(size2 + 1 + (other % 5), size2, proof, root1, root2)).toBe('rejected');
        expect(verdict(0, size2, proof, root1, root2)).toBe('rejected');
        // A wrong size whose honest proof has another length must fail (equal lengths may alias).
        const wrong1 = 1 + (other % size2);
        if (refConsistency(wrong1, data).length !== proof.length) {
          expect(verdict(wrong1, size2, proof, root1, root2)).toBe('rejected');
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('tile boundaries', () => {
  it.each([255, 256, 257, 511, 512, 513])('size %i: roots and every proof equal the reference', (size) => {
    const data = entries(size, size);
    const tree = memoryTree(data.map(refLeafHash));
    expect(hex(tree.root())).toBe(hex(refMth(data)));
    for (const index of [0, 1, 254, 255, 256, size - 1].filter((i) => i < size)) {
      expect(hexAll(tree.inclusionProof(index))).toEqual(hexAll(refPath(index, data)));
    }
    for (const size1 of [1, 128, 255, 256, size - 1].filter((s) => s >= 1 && s <= size)) {
      expect(hexAll(tree.consistencyProof(size1))).toEqual(hexAll(refConsistency(size1, data)));
    }
  });

  it.each([65535, 65536, 65537])('size %i: CompactRange, MemoryTree and merkletreejs agree', (size) => {
    const leafHashes = entries(size, 7).map((d) => nodeHasher.hashLeaf(d));
    const range = new CompactRange(nodeHasher);
    const tree = new MemoryTree(nodeHasher);
    const closed = new Map<string, string>();
    for (const h of leafHashes) {
      range.push(h, (node, hash) => closed.set(`${node.level}/${node.index}`, hex(hash)));
      tree.append(h);
    }
    const mtjs = merkleTreeJs(leafHashes);
    expect(hex(range.root())).toBe(mtjs.getRoot().toString('hex'));
    expect(hex(tree.root())).toBe(hex(range.root()));
    // Every complete subtree the compact range reported is the one the full tree holds.
    for (const [key, hash] of closed) {
      const [level, index] = key.split('/').map(Number);
      expect(hash).toBe(hex(tree.node({ level, index })));
    }
    for (const index of [0, 255, 256, 65535, size - 1].filter((i) => i < size)) {
      const theirs = mtjs.getProof(Buffer.from(leafHashes[index]), index).map((p) => p.data.toString('hex'));
      expect(hexAll(tree.inclusionProof(index))).toEqual(theirs);
    }
    for (const index of [0, 255, 256, 65535, size - 1].filter((i) => i < size)) {
      verifyInclusion(nodeHasher, index, size, leafHashes[index], tree.inclusionProof(index), range.root());
    }
    // Consistency from sizes on both sides of each tile boundary, verified against prefix roots.
    for (const size1 of [1, 255, 256, 257, 65535, 65536].filter((s) => s <= size)) {
      const proof = tree.consistencyProof(size1);
      expect(outcome(() => verifyConsistency(nodeHasher, size1, size, proof, tree.root(size1), range.root()))).toBe('ok');
      if (size1 < size) expect(outcome(() => verifyConsistency(nodeHasher, size1, size, proof, tree.root(size1 - 1 || 2), range.root()))).toBe('rejected');
    }
    // MTH splits at the largest power of two below n: checkable with a cheap reference at the edge.
    if (size === 65537) {
      expect(hex(tree.root())).toBe(hex(defaultHasher.hashChildren(tree.root(65536), leafHashes[65536])));
      expect(hexAll(tree.consistencyProof(65536))).toEqual([hex(leafHashes[65536])]);
    }
  });

  it('a CompactRange restored from its edge keeps growing across tile boundaries', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1200 }), fc.integer({ min: 1, max: 600 }), (start, more) => {
        const data = entries(start + more, start);
        const leafHashes = data.map(refLeafHash);
        const tree = memoryTree(leafHashes.slice(0, start));
        const range = CompactRange.fromEdge(start, rangeNodes(0, start).map((id) => tree.node(id)));
        for (const h of leafHashes.slice(start)) range.push(h);
        expect(range.size).toBe(start + more);
        expect(hex(range.root())).toBe(hex(rootOf(leafHashes)));
        expect(hex(range.root())).toBe(hex(refMth(data)));
      }),
      { numRuns: 15 },
    );
  });
});

describe('hashers', () => {
  it('nodeHasher and defaultHasher agree', () => {
    expect(hex(nodeHasher.emptyRoot())).toBe(hex(defaultHasher.emptyRoot()));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), HASH, HASH, (entry, left, right) => {
        expect(hex(nodeHasher.hashLeaf(entry))).toBe(hex(defaultHasher.hashLeaf(entry)));
        expect(hex(nodeHasher.hashLeaf(entry))).toBe(hex(refLeafHash(entry)));
        expect(hex(nodeHasher.hashChildren(left, right))).toBe(hex(defaultHasher.hashChildren(left, right)));
      }),
      { numRuns: 300 },
    );
  });

  it('a leaf hash is not disturbed by a longer leaf hashed before it (scratch buffer reuse)', () => {
    for (const hasher of [nodeHasher, defaultHasher]) {
      hasher.hashLeaf(new Uint8Array(5000).fill(0xaa));
      expect(hex(hasher.hashLeaf(Uint8Array.of(1, 2, 3)))).toBe(hex(refLeafHash(Uint8Array.of(1, 2, 3))));
    }
  });
});

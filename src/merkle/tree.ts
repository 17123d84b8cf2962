/**
 * In-memory Merkle trees: a streaming root (compact range) for building manifests and auditing
 * logs in constant memory, and a full tree for proofs over data that fits in memory.
 */
import { type Hash, type Hasher, defaultHasher } from './hash.js';
import { type NodeId, consistencyPlan, foldPlan, inclusionPlan, rangeNodes } from './proof.js';

/**
 * The right edge of a growing tree: one hash per set bit of the size, so memory is O(log n)
 * however many leaves are pushed. Also reports each complete subtree as it closes, which is how
 * the log builds its tiles.
 */
export class CompactRange {
  /** Hashes of the complete subtrees of the decomposition of `size`, largest (leftmost) first. */
  private readonly hashes: Hash[] = [];
  private count = 0;

  constructor(private readonly hasher: Hasher = defaultHasher) {}

  get size(): number {
    return this.count;
  }

  /** Appends a leaf hash; `onNode` sees every complete subtree that closes (level ≥ 1). */
  push(leafHash: Hash, onNode?: (node: NodeId, hash: Hash) => void): void {
    let hash = leafHash;
    let level = 0;
    let index = this.count;
    // Each trailing 1-bit of the old size is a subtree that now has a right sibling: merge.
    for (let n = this.count; n % 2 === 1; n = Math.floor(n / 2)) {
      hash = this.hasher.hashChildren(this.hashes.pop()!, hash);
      level++;
      index = Math.floor(index / 2);
      onNode?.({ level, index }, hash);
    }
    this.hashes.push(hash);
    this.count++;
  }

  /** MTH of everything pushed so far. */
  root(): Hash {
    if (this.count === 0) return this.hasher.emptyRoot();
    let acc = this.hashes[this.hashes.length - 1];
    for (let i = this.hashes.length - 2; i >= 0; i--) acc = this.hasher.hashChildren(this.hashes[i], acc);
    return acc;
  }

  /** Starts from a known right edge (the nodes of rangeNodes(0, size), left to right). */
  static fromEdge(size: number, edge: Hash[], hasher: Hasher = defaultHasher): CompactRange {
    const expected = rangeNodes(0, size).length;
    if (edge.length !== expected) throw new RangeError(`a tree of size ${size} has ${expected} edge nodes, got ${edge.length}`);
    const range = new CompactRange(hasher);
    range.hashes.push(...edge);
    range.count = size;
    return range;
  }
}

/** MTH over leaf hashes. */
export function rootOf(leafHashes: Hash[], hasher: Hasher = defaultHasher): Hash {
  const range = new CompactRange(hasher);
  for (const h of leafHashes) range.push(h);
  return range.root();
}

/** A whole tree in memory (every level), for proofs over data that fits in RAM. */
export class MemoryTree {
  /** levels[l][i] is the complete subtree node (l, i). */
  private readonly levels: Hash[][] = [[]];

  constructor(private readonly hasher: Hasher = defaultHasher) {}

  get size(): number {
    return this.levels[0].length;
  }

  append(leafHash: Hash): void {
    let index = this.levels[0].length;
    this.levels[0].push(leafHash);
    for (let level = 0; index % 2 === 1; level++) {
      const row = this.levels[level];
      const parent = this.hasher.hashChildren(row[index - 1], row[index]);
      if (!this.levels[level + 1]) this.levels.push([]);
      this.levels[level + 1].push(parent);
      index = Math.floor(index / 2);
    }
  }

  node(id: NodeId): Hash {
    const h = this.levels[id.level]?.[id.index];
    if (!h) throw new RangeError(`node (${id.level}, ${id.index}) is not complete in a tree of size ${this.size}`);
    return h;
  }

  /** MTH of the first `size` leaves (default: all). */
  root(size = this.size): Hash {
    if (size === 0) return this.hasher.emptyRoot();
    const nodes = rangeNodes(0, size).map((id) => this.node(id));
    let acc = nodes[nodes.length - 1];
    for (let i = nodes.length - 2; i >= 0; i--) acc = this.hasher.hashChildren(nodes[i], acc);
    return acc;
  }

  inclusionProof(index: number, size = this.size): Hash[] {
    const plan = inclusionPlan(index, size);
    return foldPlan(plan, plan.flat().map((id) => this.node(id)), this.hasher);
  }

  consistencyProof(size1: number, size2 = this.size): Hash[] {
    const plan = consistencyPlan(size1, size2);
    return foldPlan(plan, plan.flat().map((id) => this.node(id)), this.hasher);
  }
}

/**
 * A Merkle tree kept as C2SP tlog-tiles hash tiles, independent of what the leaves are.
 * The log uses it for its entries; the ledger uses it again for manifests.
 *
 *  - TileBuilder holds the right edge (the unfinished tile of every level) and turns new leaf
 *    hashes into the tiles that changed, costing about one interior hash per leaf.
 *  - TileTreeReader reads complete-subtree hashes out of stored tiles and answers roots and
 *    proofs for any size up to what is stored.
 */
import {
  type Hash,
  type Hasher,
  type NodeId,
  HASH_SIZE,
  TILE_WIDTH,
  type ProofPlan,
  consistencyPlan,
  foldRange,
  inclusionPlan,
  inclusionSubtree,
  locateNode,
  rangeNodes,
} from '../merkle/index.js';
import type { StoredTile } from '../store/index.js';
import { Lru } from './lru.js';

export type TileLoader = (coords: Array<{ level: number; index: number }>) => Promise<(Uint8Array | undefined)[]>;

/** Hash of a complete subtree given its 2^r hashes at the tile's level, packed in `tile` from `offset`. */
function completeSubtree(tile: Uint8Array, offset: number, count: number, hasher: Hasher): Hash {
  let row: Hash[] = [];
  for (let i = 0; i < count; i++) row.push(tile.subarray((offset + i) * HASH_SIZE, (offset + i + 1) * HASH_SIZE));
  while (row.length > 1) {
    const next: Hash[] = [];
    for (let i = 0; i < row.length; i += 2) next.push(hasher.hashChildren(row[i], row[i + 1]));
    row = next;
  }
  return row[0].slice();
}

export class TileBuilder {
  /** edge[L] = hashes of the unfinished tile at level L (0..255 hashes of tree level 8L). */
  private readonly edge: Uint8Array[] = [];
  private readonly edgeCount: number[] = [];
  private count: number;
  private changed = new Map<string, StoredTile>();

  constructor(
    private readonly hasher: Hasher,
    size = 0,
    edgeTiles: Uint8Array[] = [],
  ) {
    this.count = size;
    for (let level = 0; TILE_WIDTH ** level <= Math.max(size, 1); level++) {
      const width = Math.floor(size / TILE_WIDTH ** level) % TILE_WIDTH;
      this.edge[level] = new Uint8Array(TILE_WIDTH * HASH_SIZE);
      this.edge[level].set((edgeTiles[level] ?? new Uint8Array(0)).subarray(0, width * HASH_SIZE));
      this.edgeCount[level] = width;
    }
  }

  /** Which stored tiles a builder for `size` needs: the unfinished tile of each level. */
  static edgeCoords(size: number): Array<{ level: number; index: number; width: number }> {
    const coords = [];
    for (let level = 0; TILE_WIDTH ** level <= size; level++) {
      const hashes = Math.floor(size / TILE_WIDTH ** level);
      coords.push({ level, index: Math.floor(hashes / TILE_WIDTH), width: hashes % TILE_WIDTH });
    }
    return coords;
  }

  get size(): number {
    return this.count;
  }

  append(leafHashes: Hash[]): void {
    for (const h of leafHashes) {
      this.pushAt(0, Math.floor(this.count / TILE_WIDTH), h);
      this.count++;
    }
    // The unfinished tiles changed too; record their current state.
    for (let level = 0; level < this.edge.length; level++) {
      const width = this.edgeCount[level];
      if (width === 0) continue;
      const index = Math.floor(this.count / TILE_WIDTH ** (level + 1));
      this.changed.set(`${level}/${index}`, { level, index, hashes: this.edge[level].slice(0, width * HASH_SIZE) });
    }
  }

  private pushAt(level: number, tileIndex: number, hash: Hash): void {
    if (!this.edge[level]) {
      this.edge[level] = new Uint8Array(TILE_WIDTH * HASH_SIZE);
      this.edgeCount[level] = 0;
    }
    const buf = this.edge[level];
    buf.set(hash, this.edgeCount[level] * HASH_SIZE);
    if (++this.edgeCount[level] < TILE_WIDTH) return;
    // The tile is full: store it, and its root becomes the next hash one tile level up.
    this.changed.set(`${level}/${tileIndex}`, { level, index: tileIndex, hashes: buf.slice() });
    const tileRoot = completeSubtree(buf, 0, TILE_WIDTH, this.hasher);
    this.edgeCount[level] = 0;
    this.pushAt(level + 1, Math.floor(tileIndex / TILE_WIDTH), tileRoot);
  }

  /** Tiles changed since the last call, each in its latest state. */
  takeChangedTiles(): StoredTile[] {
    const tiles = [...this.changed.values()];
    this.changed = new Map();
    return tiles;
  }

  /** The edge tiles as they stand, keyed like `changed` (for an overlay reader). */
  edgeTile(level: number): Uint8Array {
    return this.edge[level]?.subarray(0, (this.edgeCount[level] ?? 0) * HASH_SIZE) ?? new Uint8Array(0);
  }

  /** The unfinished tile of every level, in edgeCoords(size) order (copies). */
  edgeTiles(): Uint8Array[] {
    return TileBuilder.edgeCoords(this.count).map((c) => this.edgeTile(c.level).slice());
  }

  root(): Hash {
    if (this.count === 0) return this.hasher.emptyRoot();
    const hashes = rangeNodes(0, this.count).map((node) => {
      const at = locateNode(node);
      return completeSubtree(this.edge[at.level], at.offset, at.count, this.hasher);
    });
    return foldRange(hashes, this.hasher);
  }
}

/**
 * Every complete subtree inside one tile, computed once: levels[k][j] is the hash of hashes
 * [j·2^k, (j+1)·2^k) of the tile. A proof touches one node per level of a tile, and those nodes
 * together need the whole tile hashed anyway; later proofs through the same tile cost nothing.
 */
class ExpandedTile {
  private readonly levels: Hash[][];

  constructor(tile: Uint8Array, hasher: Hasher) {
    const width = tile.length / HASH_SIZE;
    let row: Hash[] = [];
    for (let i = 0; i < width; i++) row.push(tile.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
    this.levels = [row];
    while (row.length > 1) {
      const next: Hash[] = [];
      for (let i = 0; i + 1 < row.length; i += 2) next.push(hasher.hashChildren(row[i], row[i + 1]));
      this.levels.push(next);
      row = next;
    }
  }

  /** The subtree of `count` (a power of two) hashes from `offset` (a multiple of count). */
  subtree(offset: number, count: number): Hash {
    return this.levels[Math.log2(count)][offset / count].slice();
  }
}

/** A run of several complete subtrees, named by its first and last: rangeNodes makes the rest. */
function runKey(nodes: NodeId[]): string {
  const first = nodes[0];
  const last = nodes[nodes.length - 1];
  return `${first.level}/${first.index}-${last.level}/${last.index}`;
}

/** Reads nodes, roots and proofs from stored tiles. */
export class TileTreeReader {
  private readonly expanded: Lru<string, ExpandedTile>;
  /**
   * Proof elements that fold a run of complete subtrees (the right edge of the tree). The tree
   * only grows, so a run's hash never changes, and every proof near the end of the tree at one
   * size needs the same few runs: without this each proof hashed them again.
   */
  private readonly folded: Lru<string, Hash>;
  /**
   * The root side of inclusion proofs, by the index's tile of leaves and the tree size: every
   * proof into one tile at one size shares it (a round's fifty-record batches, all at one size).
   */
  private readonly outerProofs: Lru<string, Hash[]>;

  /**
   * `cacheSize` tiles keep their interior hashes (≈ 16 KiB each), as many tiles the root side of
   * their proofs (≈ 1 KiB), and four times as many folded runs are kept (≈ 100 bytes each).
   */
  constructor(
    private readonly loadTiles: TileLoader,
    private readonly hasher: Hasher,
    cacheSize = 1024,
  ) {
    this.expanded = new Lru(cacheSize);
    this.outerProofs = new Lru(cacheSize);
    this.folded = new Lru(4 * cacheSize);
  }

  private expand(level: number, index: number, tile: Uint8Array): ExpandedTile {
    const key = `${level}/${index}/${tile.length}`;
    let expanded = this.expanded.get(key);
    if (!expanded) {
      expanded = new ExpandedTile(tile, this.hasher);
      this.expanded.set(key, expanded);
    }
    return expanded;
  }

  /** Hashes of complete subtrees (all inside the stored tree). */
  async nodes(ids: NodeId[]): Promise<Hash[]> {
    const locations = ids.map(locateNode);
    const wanted = new Map<string, { level: number; index: number }>();
    for (const l of locations) wanted.set(`${l.level}/${l.index}`, { level: l.level, index: l.index });
    const coords = [...wanted.values()];
    const tiles = await this.loadTiles(coords);
    const byKey = new Map(coords.map((c, i) => [`${c.level}/${c.index}`, tiles[i]]));
    return locations.map((l, i) => {
      const tile = byKey.get(`${l.level}/${l.index}`);
      if (!tile || tile.length < (l.offset + l.count) * HASH_SIZE) {
        throw new RangeError(`node (${ids[i].level}, ${ids[i].index}) is not in the stored tiles`);
      }
      if (l.count === 1) return tile.slice(l.offset * HASH_SIZE, (l.offset + 1) * HASH_SIZE);
      return this.expand(l.level, l.index, tile).subtree(l.offset, l.count);
    });
  }

  async root(size: number): Promise<Hash> {
    if (size === 0) return this.hasher.emptyRoot();
    return foldRange(await this.nodes(rangeNodes(0, size)), this.hasher);
  }

  async inclusionProof(index: number, size: number): Promise<Hash[]> {
    const { lo, hi } = inclusionSubtree(index, size, TILE_WIDTH);
    const innerPlan = inclusionPlan(index - lo, hi - lo).map((nodes) => nodes.map((n) => ({ level: n.level, index: n.index + lo / 2 ** n.level })));
    const key = `${Math.floor(index / TILE_WIDTH)}/${size}`;
    let outer = this.outerProofs.get(key);
    if (!outer) {
      outer = await this.proof(inclusionPlan(index, size).slice(innerPlan.length));
      this.outerProofs.set(key, outer);
    }
    return [...(await this.proof(innerPlan)), ...outer.map((h) => h.slice())];
  }

  async consistencyProof(size1: number, size2: number): Promise<Hash[]> {
    return this.proof(consistencyPlan(size1, size2));
  }

  /** The plan's proof: runs folded before come from `folded`, the rest from the tiles. */
  private async proof(plan: ProofPlan): Promise<Hash[]> {
    const keys = plan.map((nodes) => (nodes.length > 1 ? runKey(nodes) : undefined));
    const known = keys.map((key) => (key === undefined ? undefined : this.folded.get(key)));
    const hashes = await this.nodes(plan.filter((_, i) => known[i] === undefined).flat());
    let at = 0;
    return plan.map((nodes, i) => {
      const hit = known[i];
      if (hit) return hit.slice();
      const hash = foldRange(hashes.slice(at, at + nodes.length), this.hasher);
      at += nodes.length;
      if (keys[i] !== undefined) this.folded.set(keys[i]!, hash.slice());
      return hash;
    });
  }

  /** The level-0 hashes (leaf hashes) of [first, first+count). */
  async leafHashes(first: number, count: number): Promise<Hash[]> {
    const out: Hash[] = [];
    const firstTile = Math.floor(first / TILE_WIDTH);
    const lastTile = Math.floor((first + count - 1) / TILE_WIDTH);
    const coords = [];
    for (let n = firstTile; n <= lastTile; n++) coords.push({ level: 0, index: n });
    const tiles = await this.loadTiles(coords);
    for (let i = first; i < first + count; i++) {
      const tile = tiles[Math.floor(i / TILE_WIDTH) - firstTile];
      const at = (i % TILE_WIDTH) * HASH_SIZE;
      if (!tile || tile.length < at + HASH_SIZE) throw new RangeError(`leaf ${i} is not in the stored tiles`);
      out.push(tile.slice(at, at + HASH_SIZE));
    }
    return out;
  }
}

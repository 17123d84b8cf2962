/**
 * C2SP tlog-tiles coordinates and paths.
 *
 * A hash tile at level L, index N holds the hashes of tree level 8·L with indexes
 * N·256 … N·256+W−1 (W = 256 when full). An entry bundle N holds entries N·256 … N·256+W−1.
 */
import { MerkleError } from './errors.js';
import type { NodeId } from './proof.js';

export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 256;

export interface TileCoord {
  /** Tile level; `'entries'` for an entry bundle. */
  level: number | 'entries';
  index: number;
  /** 1..256; 256 is a full tile. */
  width: number;
}

/** Largest tile level whose index still fits a safe integer. */
const MAX_LEVEL = 6;

/** `1234067` → `x001/x234/067`, `5` → `005`. */
export function formatTileIndex(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new MerkleError('bad-tile-index', `not a tile index: ${n}`, 'index');
  let s = String(n % 1000).padStart(3, '0');
  n = Math.floor(n / 1000);
  while (n > 0) {
    s = `x${String(n % 1000).padStart(3, '0')}/${s}`;
    n = Math.floor(n / 1000);
  }
  return s;
}

export function formatTilePath(t: TileCoord): string {
  // Only coordinates parseTilePath accepts back: one tile, one path, both ways.
  if (t.level !== 'entries' && !(Number.isInteger(t.level) && t.level >= 0 && t.level <= MAX_LEVEL)) {
    throw new MerkleError('bad-tile-level', `tile level must be 0..${MAX_LEVEL} or 'entries', got ${t.level}`, 'level');
  }
  if (!Number.isInteger(t.width) || t.width < 1 || t.width > TILE_WIDTH) {
    throw new MerkleError('bad-tile-width', `tile width must be 1..${TILE_WIDTH}, got ${t.width}`, 'width');
  }
  const level = t.level === 'entries' ? 'entries' : String(t.level);
  const partial = t.width < TILE_WIDTH ? `.p/${t.width}` : '';
  return `tile/${level}/${formatTileIndex(t.index)}${partial}`;
}

const PATH_SHAPE = /^tile\/(entries|0|[1-9][0-9]*)\/((?:x[0-9]{3}\/)*)([0-9]{3})(?:\.p\/([1-9][0-9]*))?$/;

/**
 * Parses `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]` (no leading slash). Only the
 * canonical spelling is accepted, so one tile has exactly one path: no leading zero groups,
 * no `..`, no absolute paths, no numbers beyond a safe integer.
 */
export function parseTilePath(path: string): TileCoord {
  const m = PATH_SHAPE.exec(path);
  if (!m) throw new MerkleError('bad-tile-path', `malformed tile path ${JSON.stringify(path.slice(0, 100))}`, 'path');
  const [, levelText, groups, last, widthText] = m;
  const level = levelText === 'entries' ? 'entries' : Number(levelText);
  if (level !== 'entries' && level > MAX_LEVEL) throw new MerkleError('bad-tile-path', `tile level ${levelText} is too high`, 'path');
  const digits = groups.replace(/[x/]/g, '') + last;
  const index = Number(digits);
  // Any index formatTileIndex writes (a safe integer) reads back; anything larger is refused.
  if (!Number.isSafeInteger(index)) throw new MerkleError('bad-tile-path', 'tile index is too large', 'path');
  const width = widthText === undefined ? TILE_WIDTH : Number(widthText);
  if (widthText !== undefined && width >= TILE_WIDTH) throw new MerkleError('bad-tile-path', `partial tile width ${widthText} must be 1..255`, 'path');
  const coord: TileCoord = { level, index, width };
  if (formatTilePath(coord) !== path) throw new MerkleError('bad-tile-path', `non-canonical tile path ${JSON.stringify(path)}`, 'path');
  return coord;
}

/** Width of tile `index` at `level` in a tree of `size` leaves (0 if the tile does not exist yet). */
export function tileWidthAt(level: number, index: number, size: number): number {
  const hashesAtLevel = Math.floor(size / TILE_WIDTH ** level);
  return Math.max(0, Math.min(TILE_WIDTH, hashesAtLevel - index * TILE_WIDTH));
}

/** Every tile (hash tiles of all levels) that a client needs to read the tree of `size`, full or partial. */
export function tilesForSize(size: number): TileCoord[] {
  const tiles: TileCoord[] = [];
  for (let level = 0; TILE_WIDTH ** level <= size; level++) {
    const hashes = Math.floor(size / TILE_WIDTH ** level);
    for (let index = 0; index * TILE_WIDTH < hashes; index++) {
      tiles.push({ level, index, width: Math.min(TILE_WIDTH, hashes - index * TILE_WIDTH) });
    }
  }
  return tiles;
}

/** Where a complete subtree's hash lives: a tile, the run of stored hashes to fold, and its width there. */
export interface NodeLocation {
  level: number;
  index: number;
  /** First stored hash in the tile (0..255) and how many (a power of two) make up the node. */
  offset: number;
  count: number;
}

/** Maps a complete subtree to the tile hashes it is made of (2^r hashes, r = level mod 8). */
export function locateNode(node: NodeId): NodeLocation {
  const tileLevel = Math.floor(node.level / TILE_HEIGHT);
  const r = node.level - tileLevel * TILE_HEIGHT;
  const count = 2 ** r;
  const first = node.index * count; // index of the first stored hash at tree level 8·tileLevel
  return { level: tileLevel, index: Math.floor(first / TILE_WIDTH), offset: first % TILE_WIDTH, count };
}

/**
 * C2SP tlog-tiles coordinates: path formatting and parsing (canonical spelling only), and tile
 * arithmetic checked against a brute-force walk over the tree's complete subtrees.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MerkleError,
  type TileCoord,
  formatTileIndex,
  formatTilePath,
  locateNode,
  parseTilePath,
  tileWidthAt,
  tilesForSize,
} from '../../src/merkle/index.js';

function expectMerkleError(f: () => unknown): void {
  let thrown: unknown;
  try {
    f();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(MerkleError);
}

const COORD: fc.Arbitrary<TileCoord> = fc.record({
  level: fc.oneof(fc.integer({ min: 0, max: 6 }), fc.constant('entries' as const)),
  index: fc.oneof(fc.integer({ min: 0, max: 2_000_000 }), fc.maxSafeNat()),
  width: fc.integer({ min: 1, max: 256 }),
});

describe('tile paths', () => {
  it('the C2SP examples', () => {
    expect(formatTileIndex(1234067)).toBe('x001/x234/067');
    expect(formatTileIndex(5)).toBe('005');
    expect(formatTileIndex(1000)).toBe('x001/000');
    expect(formatTilePath({ level: 0, index: 1234067, width: 256 })).toBe('tile/0/x001/x234/067');
    expect(formatTilePath({ level: 1, index: 1234067, width: 8 })).toBe('tile/1/x001/x234/067.p/8');
    expect(formatTilePath({ level: 'entries', index: 1234067, width: 256 })).toBe('tile/entries/x001/x234/067');
    expect(formatTilePath({ level: 'entries', index: 0, width: 15 })).toBe('tile/entries/000.p/15');
    expect(parseTilePath('tile/0/x001/x234/067')).toEqual({ level: 0, index: 1234067, width: 256 });
    expect(parseTilePath('tile/2/067.p/255')).toEqual({ level: 2, index: 67, width: 255 });
    expect(parseTilePath('tile/entries/x001/x234/067.p/1')).toEqual({ level: 'entries', index: 1234067, width: 1 });
    expect(parseTilePath('tile/6/000')).toEqual({ level: 6, index: 0, width: 256 });
  });

  it('format and parse round-trip', () => {
    fc.assert(
      fc.property(COORD, (coord) => {
        const path = formatTilePath(coord);
        expect(parseTilePath(path)).toEqual(coord);
        expect(formatTilePath(parseTilePath(path))).toBe(path);
      }),
      { numRuns: 500 },
    );
  });

  it('the index is groups of three digits, every group but the last with an x', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (n) => {
        const groups = formatTileIndex(n).split('/');
        groups.forEach((g, i) => expect(g).toMatch(i === groups.length - 1 ? /^[0-9]{3}$/ : /^x[0-9]{3}$/));
        if (groups.length > 1) expect(groups[0]).not.toBe('x000');
        expect(Number(groups.map((g) => g.replace('x', '')).join(''))).toBe(n);
      }),
    );
  });

  const malformed = [
    '',
    '/tile/0/000',
    'tile/0/000/',
    'tile/0/00',
    'tile/0/0000',
    'tile/0/5',
    'tile/0/x000/001',
    'tile/0/x001/x234/x067',
    'tile/0/001/234/067',
    'tile/0/x01/234',
    'tile/00/000',
    'tile/01/000',
    'tile/7/000',
    'tile/99/000',
    'tile/a/000',
    'tile/-1/000',
    'tile//000',
    'tile/0/000.p/0',
    'tile/0/000.p/256',
    'tile/0/000.p/300',
    'tile/0/000.p/007',
    'tile/0/000.p/',
    'tile/0/000.p',
    'tile/0/000.p/1/',
    'tile/entries/000.p/256',
    'tile/0/../000',
    'tile/../tile/0/000',
    'tile/0/./000',
    'tile/0/x999/x999/x999/x999/x999/x999/999',
    'tile/0/x009/x007/x199/x254/x740/992',
    'tile/0/x100000000000000000000/000',
    'tile/data/000',
    'tile/8/0/000',
    'tile/0/000\n',
    ' tile/0/000',
    'tile\\0\\000',
    'TILE/0/000',
    'tile/0/０００',
    'tile/entries/x001/x234/067.p/1x',
    'checkpoint',
  ];

  it(`a table of ${malformed.length} malformed paths is rejected`, () => {
    expect(malformed.length).toBeGreaterThanOrEqual(25);
    for (const path of malformed) expectMerkleError(() => parseTilePath(path));
  });

  it('formatting refuses coordinates that have no canonical path', () => {
    const bad: TileCoord[] = [
      { level: 0, index: -1, width: 256 },
      { level: 0, index: 1.5, width: 256 },
      { level: 0, index: 2 ** 53, width: 256 },
      { level: 0, index: 0, width: 0 },
      { level: 0, index: 0, width: 257 },
      { level: 7, index: 0, width: 256 },
      { level: -1, index: 0, width: 256 },
    ];
    for (const coord of bad) expectMerkleError(() => formatTilePath(coord));
  });
});

/** Brute force: walk every complete subtree at tree level 8·L (one per 256^L leaves) and group them by tile. */
function bruteTiles(size: number): Map<string, number> {
  const widths = new Map<string, number>();
  for (let level = 0; level <= 3; level++) {
    const span = 256 ** level;
    for (let node = 0; (node + 1) * span <= size; node++) {
      const key = `${level}/${Math.floor(node / 256)}`;
      widths.set(key, (widths.get(key) ?? 0) + 1);
    }
  }
  return widths;
}

describe('tile arithmetic', () => {
  const SIZE = fc.oneof(fc.integer({ min: 0, max: 140_000 }), fc.constantFrom(0, 1, 255, 256, 257, 65535, 65536, 65537, 131072));

  it('tilesForSize and tileWidthAt equal a brute-force walk', () => {
    fc.assert(
      fc.property(SIZE, (size) => {
        const expected = bruteTiles(size);
        const got = new Map(tilesForSize(size).map((t) => [`${t.level}/${t.index}`, t.width]));
        expect(got).toEqual(expected);
        for (const [key, width] of expected) {
          const [level, index] = key.split('/').map(Number);
          expect(tileWidthAt(level, index, size)).toBe(width);
        }
        // One past the last tile of each level does not exist yet.
        for (let level = 0; level <= 3; level++) {
          const count = [...expected.keys()].filter((k) => k.startsWith(`${level}/`)).length;
          expect(tileWidthAt(level, count, size)).toBe(0);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('locateNode finds the stored hashes that cover a subtree', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 30 }), fc.nat({ max: 2 ** 20 }), (level, index) => {
        fc.pre(index * 2 ** level <= Number.MAX_SAFE_INTEGER);
        const loc = locateNode({ level, index });
        // Leaves the node covers, and the tile level whose stored hashes (256^t leaves each) build it.
        const firstLeaf = index * 2 ** level;
        const leaves = 2 ** level;
        const t = Math.floor(level / 8);
        const perHash = 256 ** t;
        const firstStored = firstLeaf / perHash;
        expect(loc.level).toBe(t);
        expect(loc.count).toBe(leaves / perHash);
        expect(loc.index).toBe(Math.floor(firstStored / 256));
        expect(loc.offset).toBe(firstStored % 256);
        expect(loc.offset + loc.count).toBeLessThanOrEqual(256);
      }),
      { numRuns: 500 },
    );
  });
});

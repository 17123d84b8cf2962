/**
 * The log against a complete tlog-tiles log written by another implementation
 * (test/vectors/tiled-log): fed the same 15 entries under the same key and origin, it must
 * produce byte-identical tiles, entry bundles and checkpoints at every size.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Log } from '../../src/log/index.js';
import { formatTilePath, parseTilePath } from '../../src/merkle/index.js';
import { openCheckpoint, parsePrivateKey, parseVerifierKey } from '../../src/note/index.js';
import { nodeSigner } from '../../src/platform/node-signer.js';
import { nodeHasher } from '../../src/platform/node-hasher.js';
import { LevelLogStore } from '../../src/store/index.js';
import { tempDir } from '../support/tmp.js';

const VECTORS = join(import.meta.dirname, '..', 'vectors', 'tiled-log');
const ORIGIN = 'example.com/log/testdata';
const VKEY = 'example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx';
const SKEY = 'PRIVATE+KEY+example.com/log/testdata+33d7b496+AeymY/SZAX0jZcJ8enZ5FY1Dz+wTML2yWSkK+9DSF3eg';
const WORDS = 'one two three four five six seven eit nain ten ileven twelf threeten fourten fivten'.split(' ');
const enc = new TextEncoder();

const vector = (path: string) => new Uint8Array(readFileSync(join(VECTORS, path)));

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups) await c();
  cleanups = [];
});

async function openVectorLog(dir: string): Promise<Log> {
  const store = await LevelLogStore.open(dir);
  return Log.open(store, { origin: ORIGIN, signer: nodeSigner(parsePrivateKey(SKEY)), hasher: nodeHasher });
}

describe('tiled-log vectors', () => {
  it('reproduces every checkpoint, tile and bundle at sizes 0..15, one entry per round', async () => {
    const { dir, cleanup } = await tempDir();
    cleanups.push(cleanup);
    const log = await openVectorLog(dir);
    expect(Buffer.from(log.checkpoint.note).toString()).toBe(Buffer.from(vector('checkpoint.0')).toString());
    for (let n = 1; n <= WORDS.length; n++) {
      const [result] = await log.append([enc.encode(WORDS[n - 1])]);
      expect(result).toMatchObject({ index: n - 1, duplicate: false });
      const round = await log.integrate();
      expect(round).toMatchObject({ from: n - 1, to: n });
      expect(Buffer.from(log.checkpoint.note).toString()).toBe(Buffer.from(vector(`checkpoint.${n}`)).toString());
      for (const path of [`tile/0/000.p/${n}`, `tile/entries/000.p/${n}`]) {
        const served = await log.readTile(parseTilePath(path));
        expect(served && Buffer.from(served).toString('hex'), path).toBe(Buffer.from(vector(path)).toString('hex'));
      }
      // Narrower partial tiles of the same tile are prefixes of the current one.
      for (let w = 1; w < n; w++) {
        const served = await log.readTile({ level: 0, index: 0, width: w });
        expect(Buffer.from(served!).toString('hex')).toBe(Buffer.from(vector(`tile/0/000.p/${w}`)).toString('hex'));
      }
      // Wider than the tree: not served.
      expect(await log.readTile({ level: 0, index: 0, width: n + 1 })).toBeUndefined();
    }
    await log.close();
  });

  it('reproduces the final state when all 15 entries arrive in one batch, and after a reopen', async () => {
    const { dir, cleanup } = await tempDir();
    cleanups.push(cleanup);
    let log = await openVectorLog(dir);
    const results = await log.append(WORDS.map((w) => enc.encode(w)));
    expect(results.map((r) => r.index)).toEqual(WORDS.map((_, i) => i));
    await log.integrate();
    expect(Buffer.from(log.checkpoint.note).toString()).toBe(Buffer.from(vector('checkpoint')).toString());
    await log.close();
    log = await openVectorLog(dir);
    expect(Buffer.from(log.checkpoint.note).toString()).toBe(Buffer.from(vector('checkpoint')).toString());
    const path = formatTilePath({ level: 'entries', index: 0, width: 15 });
    expect(Buffer.from((await log.readTile(parseTilePath(path)))!).equals(Buffer.from(vector(path)))).toBe(true);
    await log.close();
  });

  it('opens every vector checkpoint with the vector verifier key', () => {
    const verifier = parseVerifierKey(VKEY);
    for (let n = 0; n <= 15; n++) {
      const { checkpoint } = openCheckpoint(vector(`checkpoint.${n}`), verifier);
      expect(checkpoint.size).toBe(n);
      expect(checkpoint.origin).toBe(ORIGIN);
    }
  });

  it('deduplicates: a repeated entry keeps its first index', async () => {
    const { dir, cleanup } = await tempDir();
    cleanups.push(cleanup);
    const log = await openVectorLog(dir);
    await log.append(WORDS.slice(0, 3).map((w) => enc.encode(w)));
    const again = await log.append([enc.encode('two'), enc.encode('four'), enc.encode('four')]);
    expect(again.map((r) => [r.index, r.duplicate])).toEqual([
      [1, true],
      [3, false],
      [3, true],
    ]);
    await log.integrate();
    expect(log.checkpoint.checkpoint.size).toBe(4);
    expect(Buffer.from(log.checkpoint.note).toString()).toBe(Buffer.from(vector('checkpoint.4')).toString());
    await log.close();
  });
});

/**
 * The log against an in-memory RFC 6962 tree (src/merkle MemoryTree, itself checked against
 * published vectors and merkletreejs): roots, tiles and proofs at sizes across tile boundaries,
 * interleaved rounds, restarts and crashes between sequencing and integration.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { Log } from '../../src/log/index.js';
import {
  HASH_SIZE,
  MemoryTree,
  equalHashes,
  tilesForSize,
  verifyConsistency,
  verifyInclusion,
} from '../../src/merkle/index.js';
import { generatePrivateKey, openCheckpoint, parseVerifierKey, verifierKeyOf } from '../../src/note/index.js';
import { nodeSigner } from '../../src/platform/node-signer.js';
import { nodeHasher } from '../../src/platform/node-hasher.js';
import { LevelLogStore } from '../../src/store/index.js';
import { tempDir } from '../support/tmp.js';

const ORIGIN = 'test.example/log';
const key = generatePrivateKey(ORIGIN);
const verifier = parseVerifierKey(verifierKeyOf(key));

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function freshDir(): Promise<string> {
  const { dir, cleanup } = await tempDir();
  cleanups.push(cleanup);
  return dir;
}

async function openLog(dir: string): Promise<Log> {
  const store = await LevelLogStore.open(dir);
  return Log.open(store, { origin: ORIGIN, signer: nodeSigner(key), hasher: nodeHasher });
}

function entry(i: number): Uint8Array {
  return new TextEncoder().encode(`entry number ${i}`);
}

/** Compares every tile of the log's tree with the reference tree's hashes. */
/** Appends entries [from, from+count) to the log and the reference, integrates, and returns the new size. */
async function grow(log: Log, ref: MemoryTree, from: number, count: number): Promise<number> {
  const entries = Array.from({ length: count }, (_, i) => entry(from + i));
  entries.forEach((e) => ref.append(nodeHasher.hashLeaf(e)));
  await log.append(entries);
  await log.integrate();
  return from + count;
}

async function expectTilesMatch(log: Log, ref: MemoryTree): Promise<void> {
  const size = log.checkpoint.checkpoint.size;
  for (const t of tilesForSize(size)) {
    const tile = await log.readTile(t);
    expect(tile, `tile ${t.level}/${t.index}`).toBeDefined();
    expect(tile!.length).toBe(t.width * HASH_SIZE);
    for (let i = 0; i < t.width; i += 37) {
      const node = ref.node({ level: 8 * (t.level as number), index: t.index * 256 + i });
      expect(equalHashes(tile!.subarray(i * 32, i * 32 + 32), node), `tile ${t.level}/${t.index}[${i}]`).toBe(true);
    }
  }
}

describe('log', () => {
  it('matches the reference tree at sizes around tile boundaries', async () => {
    const log = await openLog(await freshDir());
    const ref = new MemoryTree(nodeHasher);
    const stops = [1, 2, 255, 256, 257, 511, 512, 513, 1000, 65535, 65536, 65537, 66000];
    let next = 0;
    for (const stop of stops) {
      const entries = [];
      for (; next < stop; next++) {
        entries.push(entry(next));
        ref.append(nodeHasher.hashLeaf(entry(next)));
      }
      await log.append(entries);
      await log.integrate();
      const { checkpoint } = openCheckpoint(log.checkpoint.note, verifier);
      expect(checkpoint.size).toBe(stop);
      expect(equalHashes(checkpoint.rootHash, ref.root()), `root at ${stop}`).toBe(true);
      expect(equalHashes(await log.rootAt(stop), ref.root())).toBe(true);
    }
    await expectTilesMatch(log, ref);
    // Proofs for sampled indexes and sizes, including old sizes.
    for (const [index, size] of [[0, 1], [254, 255], [255, 256], [256, 257], [65535, 65536], [65536, 65537], [12345, 66000], [65999, 66000], [100, 513]]) {
      const proof = await log.inclusionProof(index, size);
      expect(proof.map((h) => Buffer.from(h).toString('hex'))).toEqual(ref.inclusionProof(index, size).map((h) => Buffer.from(h).toString('hex')));
      verifyInclusion(nodeHasher, index, size, ref.node({ level: 0, index }), proof, ref.root(size));
    }
    for (const [m, n] of [[1, 2], [255, 256], [256, 257], [257, 65537], [65536, 65537], [1000, 66000], [66000, 66000]]) {
      const proof = await log.consistencyProof(m, n);
      expect(proof.length).toBe(ref.consistencyProof(m, n).length);
      verifyConsistency(nodeHasher, m, n, proof, ref.root(m), ref.root(n));
    }
    await log.close();
  });

  it('random batches and rounds agree with the reference (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 6 }), async (batches) => {
        const log = await openLog(await freshDir());
        const ref = new MemoryTree(nodeHasher);
        let n = 0;
        for (const b of batches) n = await grow(log, ref, n, b);
        expect(equalHashes(log.checkpoint.checkpoint.rootHash, ref.root())).toBe(true);
        const index = n - 1;
        verifyInclusion(nodeHasher, index, n, ref.node({ level: 0, index }), await log.inclusionProof(index), ref.root());
        if (batches.length > 1) {
          const m = batches[0];
          verifyConsistency(nodeHasher, m, n, await log.consistencyProof(m), ref.root(m), ref.root());
        }
        await log.close();
      }),
      { numRuns: 15 },
    );
  });

  it('proofs asked again and again as the log grows equal the reference (property)', async () => {
    // One log answers proofs at many sizes between rounds, as a busy server does: whatever it
    // keeps between proofs must never give an answer of another size or range.
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 600 }), { minLength: 2, maxLength: 5 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(), fc.nat()), { minLength: 8, maxLength: 24 }),
        async (batches, picks) => {
          const log = await openLog(await freshDir());
          const ref = new MemoryTree(nodeHasher);
          let n = 0;
          for (const b of batches) {
            n = await grow(log, ref, n, b);
            for (const [a, s, m] of picks) {
              const size = 1 + (s % n);
              const index = a % size;
              const hex = (hs: Uint8Array[]) => hs.map((h) => Buffer.from(h).toString('hex'));
              expect(hex(await log.inclusionProof(index, size)), `inclusion ${index} in ${size}`).toEqual(hex(ref.inclusionProof(index, size)));
              const from = 1 + (m % size);
              expect(hex(await log.consistencyProof(from, size)), `consistency ${from} → ${size}`).toEqual(hex(ref.consistencyProof(from, size)));
            }
          }
          await log.close();
        },
      ),
      { numRuns: 12 },
    );
  });

  it('resumes after a crash between sequencing and integration without losing entries', async () => {
    const dir = await freshDir();
    let log = await openLog(dir);
    await log.append(Array.from({ length: 300 }, (_, i) => entry(i)));
    await log.integrate();
    // Simulate the crash: entries durably sequenced by the store, the process gone before integrating.
    await log.append(Array.from({ length: 50 }, (_, i) => entry(300 + i)));
    await (log as unknown as { store: LevelLogStore }).store.close();

    log = await openLog(dir);
    expect(log.checkpoint.checkpoint.size).toBe(300);
    expect(log.sequencedSize).toBe(350);
    // The crashed-in entries are known to dedup before integration.
    expect((await log.append([entry(320)]))[0]).toMatchObject({ index: 320, duplicate: true });
    await log.integrate();
    const ref = new MemoryTree(nodeHasher);
    for (let i = 0; i < 350; i++) ref.append(nodeHasher.hashLeaf(entry(i)));
    expect(equalHashes(log.checkpoint.checkpoint.rootHash, ref.root())).toBe(true);
    await expectTilesMatch(log, ref);
    await log.close();
  });

  it('refuses a second process-level open of the same directory with a clear message', async () => {
    const dir = await freshDir();
    const log = await openLog(dir);
    await expect(LevelLogStore.open(dir)).rejects.toThrow(/in use by another process|lock/i);
    await log.close();
  });

  it('rejects bad proof requests and oversize entries without changing anything', async () => {
    const log = await openLog(await freshDir());
    await log.append([entry(0), entry(1)]);
    await log.integrate();
    await expect(log.inclusionProof(2, 2)).rejects.toThrow(/index/);
    await expect(log.inclusionProof(0, 3)).rejects.toThrow(/size/);
    await expect(log.consistencyProof(0, 2)).rejects.toThrow(/from/);
    await expect(log.consistencyProof(2, 1)).rejects.toThrow();
    await expect(log.append([new Uint8Array(70000)])).rejects.toThrow(/over 65535/);
    expect(log.sequencedSize).toBe(2);
    await log.close();
  });
});

/**
 * The worker-thread integrator (the server's) against the in-thread one and against the
 * reference tree: same tiles, edge and root for random starting sizes and round lengths, and a
 * log integrating through the worker reproduces the published tiled-log vectors.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { type Integrator, Log, integrateSync } from '../../src/log/index.js';
import { HASH_SIZE, MemoryTree, equalHashes } from '../../src/merkle/index.js';
import { parsePrivateKey, nobleSigner } from '../../src/note/index.js';
import { nodeHasher } from '../../src/platform/node-hasher.js';
import { LevelLogStore } from '../../src/store/index.js';
import { tempDir } from '../support/tmp.js';
import { SKEY } from '../note/helpers.js';

// The worker runs compiled JavaScript: load the integrator from dist (npm test builds first).
const distModule = new URL('../../dist/src/platform/worker-integrator.js', import.meta.url);
const { workerIntegrator } = (await import(distModule.href)) as typeof import('../../src/platform/worker-integrator.js');

const integrators: Integrator[] = [];
afterAll(async () => {
  for (const i of integrators) await i.close();
});

function leaves(first: number, count: number): Uint8Array {
  const out = new Uint8Array(count * HASH_SIZE);
  for (let i = 0; i < count; i++) out.set(nodeHasher.hashLeaf(new TextEncoder().encode(`leaf ${first + i}`)), i * HASH_SIZE);
  return out;
}

describe('worker integrator', () => {
  it('agrees with the in-thread integrator and the reference tree (property)', async () => {
    const worker = workerIntegrator();
    integrators.push(worker);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 70_000 }), fc.integer({ min: 1, max: 700 }), async (from, count) => {
        // The edge at `from`, as the log would hold it.
        const base = integrateSync(nodeHasher, { from: 0, edgeTiles: [], leafHashes: leaves(0, from) });
        const input = () => ({ from, edgeTiles: base.edgeTiles.map((t) => t.slice()), leafHashes: leaves(from, count) });
        const local = integrateSync(nodeHasher, input());
        const remote = await worker.integrate(input());
        expect(remote.size).toBe(from + count);
        expect(Buffer.from(remote.root).toString('hex')).toBe(Buffer.from(local.root).toString('hex'));
        expect(remote.tiles.map((t) => [t.level, t.index, Buffer.from(t.hashes).toString('hex')])).toEqual(local.tiles.map((t) => [t.level, t.index, Buffer.from(t.hashes).toString('hex')]));
        expect(remote.edgeTiles.map((t) => Buffer.from(t).toString('hex'))).toEqual(local.edgeTiles.map((t) => Buffer.from(t).toString('hex')));
        if (from + count <= 3000) {
          const ref = new MemoryTree(nodeHasher);
          const all = leaves(0, from + count);
          for (let i = 0; i < from + count; i++) ref.append(all.subarray(i * 32, i * 32 + 32));
          expect(equalHashes(remote.root, ref.root())).toBe(true);
        }
      }),
      { numRuns: 30 },
    );
  });

  it('reproduces the tiled-log vector checkpoint when a log integrates through it', async () => {
    const dir = fileURLToPath(new URL('../vectors/tiled-log/', import.meta.url));
    const key = parsePrivateKey(SKEY);
    const { dir: dataDir, cleanup } = await tempDir();
    try {
      const log = await Log.open(await LevelLogStore.open(dataDir), { origin: key.name, signer: nobleSigner(key), hasher: nodeHasher, integrator: workerIntegrator() });
      const words = 'one two three four five six seven eit nain ten ileven twelf threeten fourten fivten'.split(' ');
      await log.append(words.map((w) => new TextEncoder().encode(w)));
      await log.integrate();
      const expected = await readFile(`${dir}/checkpoint`, 'utf8');
      expect(Buffer.from(log.checkpoint.note).toString()).toBe(expected);
      await log.close();
    } finally {
      await cleanup();
    }
  });
});

/**
 * `witness.cosign`: how many checkpoints a witness cosigns per second over HTTP — each a real
 * add-checkpoint from a growing log (consistency proof from the last cosigned size, signature
 * and proof checks, durable compare-and-store, timestamped cosignature).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Log } from '../src/log/index.js';
import { generatePrivateKey, parseVerifierKey, verifierKeyOf } from '../src/note/index.js';
import { nodeHasher } from '../src/platform/node-hasher.js';
import { nodeSigner } from '../src/platform/node-signer.js';
import { LevelLogStore } from '../src/store/index.js';
import { requestCosignature } from '../src/witness/client.js';
import { startWitnessServer } from '../src/witness/server.js';
import { type Bench, type BenchResult, secondsSince } from './harness.js';

const ORIGIN = 'bench.example/witnessed';

async function cosignRate(checkpoints: number): Promise<BenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'pvl-bench-witness-'));
  const logKey = generatePrivateKey(ORIGIN);
  const log = await Log.open(await LevelLogStore.open(join(dir, 'log')), { origin: ORIGIN, signer: nodeSigner(logKey), hasher: nodeHasher });
  const witness = await startWitnessServer({ data: join(dir, 'witness'), key: generatePrivateKey('bench.example/witness'), logs: new Map([[ORIGIN, [parseVerifierKey(verifierKeyOf(logKey))]]]) });
  try {
    // Checkpoints prepared first (each a few entries larger), so only the witness is timed.
    const requests: Array<{ oldSize: number; proof: Uint8Array[]; checkpointNote: string }> = [];
    let oldSize = 0;
    for (let i = 0; i < checkpoints; i++) {
      await log.append(Array.from({ length: 4 }, (_, j) => new TextEncoder().encode(`entry ${i}.${j}`)));
      const round = await log.integrate();
      const size = round!.to;
      requests.push({ oldSize, proof: oldSize === 0 ? [] : await log.consistencyProof(oldSize, size), checkpointNote: new TextDecoder().decode(log.checkpoint.note) });
      oldSize = size;
    }
    const start = performance.now();
    for (const req of requests) await requestCosignature(witness.url, req, 10_000);
    const seconds = secondsSince(start);
    return [{ name: 'witness.cosign', checkpoints, checkpoints_per_s: checkpoints / seconds, mean_ms: (1000 * seconds) / checkpoints }];
  } finally {
    await witness.close();
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export const benches: Bench[] = [{ group: 'witness', run: ({ quick }) => cosignRate(quick ? 300 : 2000) }];

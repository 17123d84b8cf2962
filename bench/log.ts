/** Log benchmarks: append + integrate throughput, proof latency, storage per entry. */
import { hash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Log } from '../src/log/index.js';
import { generatePrivateKey } from '../src/note/index.js';
import { nodeSigner } from '../src/platform/node-signer.js';
import { nodeHasher } from '../src/platform/node-hasher.js';
import { workerIntegrator } from '../src/platform/worker-integrator.js';
import { LevelLogStore } from '../src/store/index.js';
import { type Bench, type BenchResult, median, secondsSince } from './harness.js';

const ORIGIN = 'bench.example/log';

function sha256Limit(): number {
  const input = randomBytes(64);
  const n = 300_000;
  const start = performance.now();
  // The fastest node:crypto path (one-shot hash), the same one nodeHasher uses.
  for (let i = 0; i < n; i++) hash('sha256', input, 'buffer');
  return n / secondsSince(start);
}

async function openLog(dir: string): Promise<{ log: Log; store: LevelLogStore }> {
  const store = await LevelLogStore.open(dir);
  const key = generatePrivateKey(ORIGIN);
  const log = await Log.open(store, { origin: ORIGIN, signer: nodeSigner(key), hasher: nodeHasher, integrator: workerIntegrator() });
  return { log, store };
}

/** Random (incompressible, distinct) entries, so storage figures are not flattered by compression. */
function makeEntries(count: number, size: number): Uint8Array[] {
  const bytes = randomBytes(count * size);
  return Array.from({ length: count }, (_, i) => bytes.subarray(i * size, (i + 1) * size));
}

/**
 * As in the server: several clients append at once (each waiting for its acknowledgement before
 * sending more) while an integration loop turns whatever is sequenced into tiles and a signed
 * checkpoint. The clock stops when the last entry is in a durable checkpoint.
 */
async function appendAndIntegrate(quick: boolean): Promise<BenchResult[]> {
  const total = quick ? 200_000 : 1_000_000;
  const entrySize = 200;
  const perCall = 2_500;
  const clients = 4;
  const dir = await mkdtemp(join(tmpdir(), 'pvl-bench-log-'));
  const { log, store } = await openLog(dir);
  try {
    let rounds = 0;
    let appending = true;
    const integrationLoop = async () => {
      while (appending || log.checkpoint.checkpoint.size < total) {
        const round = await log.integrate();
        if (round) {
          rounds++;
        } else {
          await new Promise((r) => setTimeout(r, 1));
        }
      }
    };
    let next = 0;
    const client = async () => {
      while (next < total) {
        const count = Math.min(perCall, total - next);
        next += count;
        await log.append(makeEntries(count, entrySize));
      }
    };
    const start = performance.now();
    const integration = integrationLoop();
    await Promise.all(Array.from({ length: clients }, client));
    const appendSeconds = secondsSince(start);
    appending = false;
    await integration;
    const endToEnd = secondsSince(start);
    const sha = sha256Limit();
    const isolated = await integrationAlone(total, entrySize);

    const size = log.checkpoint.checkpoint.size;
    const inclusion: number[] = [];
    const consistency: number[] = [];
    for (let i = 0; i < 2000; i++) {
      let t = performance.now();
      await log.inclusionProof(Math.floor(Math.random() * size), size);
      inclusion.push(performance.now() - t);
      const m = 1 + Math.floor(Math.random() * (size - 1));
      t = performance.now();
      await log.consistencyProof(m, size);
      consistency.push(performance.now() - t);
    }
    await store.compact();
    const bytes = await store.diskUsage();
    const perEntry = bytes / size - entrySize;
    return [
      { name: 'log.append', entries: total, entry_bytes: entrySize, entries_per_s: total / appendSeconds },
      { name: 'log.integrate', entries: isolated.entries, entries_per_s: isolated.perSecond, sha256_limit_per_s: sha, share_of_limit: (2 * isolated.perSecond) / sha, rounds_while_appending: rounds },
      { name: 'log.end_to_end', entries: total, entries_per_s: total / endToEnd },
      { name: 'log.proof', tree_size: size, inclusion_median_ms: median(inclusion), consistency_median_ms: median(consistency) },
      { name: 'log.storage', entries: size, overhead_bytes_per_entry: perEntry },
    ];
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Integration on its own: everything sequenced first, then one timed round (tiles, signature, durable write). */
async function integrationAlone(total: number, entrySize: number): Promise<{ entries: number; perSecond: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'pvl-bench-integrate-'));
  const { log } = await openLog(dir);
  try {
    for (let at = 0; at < total; at += 10_000) await log.append(makeEntries(Math.min(10_000, total - at), entrySize));
    const t = performance.now();
    const round = await log.integrate();
    return { entries: round!.to - round!.from, perSecond: (round!.to - round!.from) / secondsSince(t) };
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export const benches: Bench[] = [{ group: 'log', run: ({ quick }) => appendAndIntegrate(quick) }];

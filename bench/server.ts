/**
 * Server benchmarks over loopback, with the load generator (bench/_load.ts) in its own process:
 * sustained signed-record submission with submit→checkpoint latency, random tile reads on a
 * 1,000,000-entry log, and creator queries with proof bundles.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Log } from '../src/log/index.js';
import { formatPrivateKey, generatePrivateKey } from '../src/note/index.js';
import { nodeHasher } from '../src/platform/node-hasher.js';
import { nodeSigner } from '../src/platform/node-signer.js';
import { LevelLogStore } from '../src/store/index.js';
import type { Bench, BenchResult } from './harness.js';
import { freePort, startServer } from './_server-process.js';

const here = dirname(fileURLToPath(import.meta.url));
const loadScript = join(here, '_load.js');
const ORIGIN = 'localhost/provenance-ledger';

/** Fills the data directory with `size` raw entries (the log is generic; tiles do not care). */
async function prebuildLog(dataDir: string, size: number): Promise<void> {
  const key = generatePrivateKey(ORIGIN);
  await writeFile(join(dataDir, 'log.key'), `${formatPrivateKey(key.name, key.seed)}\n`, { mode: 0o600 });
  const store = await LevelLogStore.open(join(dataDir, 'store'));
  const log = await Log.open(store, { origin: ORIGIN, signer: nodeSigner(key), hasher: nodeHasher });
  for (let at = 0; at < size; at += 10_000) {
    const n = Math.min(10_000, size - at);
    const bytes = randomBytes(n * 200);
    await log.append(Array.from({ length: n }, (_, i) => bytes.subarray(i * 200, (i + 1) * 200)));
    if (at % 100_000 === 0) await log.integrate();
  }
  await log.integrate();
  await log.close();
}

async function runLoad(mode: string, url: string, options: object): Promise<Record<string, number>> {
  const { stdout } = await promisify(execFile)(process.execPath, [loadScript, mode, url, JSON.stringify(options)], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, number>;
}

async function serverBench(quick: boolean): Promise<BenchResult[]> {
  const dataDir = await mkdtemp(join(tmpdir(), 'pvl-bench-server-'));
  const treeSize = quick ? 100_000 : 1_000_000;
  let server: ChildProcess | undefined;
  try {
    await prebuildLog(dataDir, treeSize);
    const port = await freePort();
    server = (await startServer(dataDir, port)).child;
    const url = `http://127.0.0.1:${port}`;
    const submit = await runLoad('submit', url, { seconds: quick ? 10 : 60 });
    const tiles = await runLoad('tiles', url, { seconds: quick ? 5 : 20, treeSize });
    const uses = await runLoad('uses', url, { seconds: quick ? 5 : 15 });
    return [
      { name: 'server.submit', ...submit },
      { name: 'server.tiles', tree_size: treeSize, ...tiles },
      { name: 'server.uses', ...uses },
    ];
  } finally {
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => server!.once('exit', r));
    }
    await rm(dataDir, { recursive: true, force: true });
  }
}

export const benches: Bench[] = [{ group: 'server', run: ({ quick }) => serverBench(quick) }];

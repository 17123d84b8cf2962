/**
 * `pvl serve`: opens the store and the log key under the data directory, runs the HTTP API
 * (spec/api.md) and shuts down cleanly on SIGTERM/SIGINT.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener, type ServerType } from '@hono/node-server';
import { type FastReadOptions, withFastReads } from '../../server/fast-reads.js';
import { formatPrivateKey, generatePrivateKey, parsePrivateKey, verifierKeyOf, type PrivateKey } from '../../note/index.js';
import { LevelLogStore } from '../../store/index.js';
import { openLedger } from '../../ledger/index.js';
import { nodeSigner, nodeEd25519Verify } from '../../platform/node-signer.js';
import { workerIntegrator } from '../../platform/worker-integrator.js';
import { verifyPool } from '../../platform/verify-pool.js';
import { type AppOptions, createApp } from '../../server/app.js';
import { createServerMetrics } from '../../server/metrics.js';
import { writeSecretFile } from '../keys.js';
import { UsageError } from '../output.js';

interface ServeOptions {
  data: string;
  host: string;
  port: string;
  origin: string;
}

/** The log key at <data>/log.key; created (mode 0600) on first start, which prints its verifier key. */
async function loadOrCreateLogKey(path: string, origin: string): Promise<PrivateKey> {
  try {
    const key = parsePrivateKey((await readFile(path, 'utf8')).trim());
    if (key.name !== origin) throw new UsageError(`${path} is the key of ${key.name}, not of the origin ${origin}`);
    return key;
  } catch (e) {
    if ((e as { code?: string }).code !== 'ENOENT') throw e;
  }
  const key = generatePrivateKey(origin);
  await writeSecretFile(path, formatPrivateKey(key.name, key.seed) + '\n');
  console.log(`verifier key: ${verifierKeyOf(key)}`);
  return key;
}

function parsePort(text: string): number {
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) > 65535) throw new UsageError(`--port must be 0…65535, got ${text}`);
  return Number(text);
}

function listen(app: ReturnType<typeof createApp>, reads: FastReadOptions, hostname: string, port: number): Promise<{ server: ServerType; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer(withFastReads(getRequestListener(app.fetch), reads));
    server.once('error', reject);
    server.listen(port, hostname, () => resolve({ server, port: (server.address() as AddressInfo).port }));
  });
}

export async function runServe(opts: ServeOptions): Promise<void> {
  const port = parsePort(opts.port);
  await mkdir(opts.data, { recursive: true });
  // The store first: its LevelDB lock is what tells us another process owns the directory.
  const store = await LevelLogStore.open(join(opts.data, 'store'));
  let key: PrivateKey;
  try {
    key = await loadOrCreateLogKey(join(opts.data, 'log.key'), opts.origin);
  } catch (e) {
    await store.close();
    throw e;
  }
  const signatures = verifyPool();
  const ledger = await openLedger({ store, origin: opts.origin, signer: nodeSigner(key), verify: nodeEd25519Verify, verifyBatch: (checks) => signatures.verify(checks), integrator: workerIntegrator() });
  const shutdown = new AbortController();
  const metrics = createServerMetrics();
  const appOptions: AppOptions = { ledger, log: ledger.log, vkey: verifierKeyOf(key), shutdown: shutdown.signal, metrics };
  const app = createApp(appOptions);
  const reads: FastReadOptions = { log: ledger.log, published: appOptions.published ?? (() => ledger.log.checkpoint), onAnswered: () => metrics.requests.inc(1, { code: '2xx' }) };
  const { server, port: bound } = await listen(app, reads, opts.host, port);
  const shownHost = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  console.log(`listening on http://${shownHost}:${bound}`);

  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  // Stop accepting; end event streams so open connections can drain; then the log finishes its round.
  shutdown.abort();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
  await closed;
  await ledger.close();
  await signatures.close();
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the ledger HTTP server (spec/api.md)')
    .option('--data <dir>', 'data directory (store and log key)', './data')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 = any free port)', '8080')
    .option('--origin <origin>', 'log origin (checkpoint first line and key name)', 'localhost/provenance-ledger')
    .action(async (opts: ServeOptions) => {
      await runServe(opts);
      process.exitCode = 0;
    });
}

/**
 * `pvl serve`: opens the store and the log key under the data directory, runs the HTTP API
 * (spec/api.md) and shuts down cleanly on SIGTERM/SIGINT.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { type FastReadOptions, withFastReads } from '../../server/fast-reads.js';
import { cosignatureVerifier, formatPrivateKey, generatePrivateKey, parsePrivateKey, verifierKeyOf, type PrivateKey } from '../../note/index.js';
import { LevelLogStore } from '../../store/index.js';
import { openLedger } from '../../ledger/index.js';
import { DEFAULT_MANIFEST_LIMITS, type ManifestLimits } from '../../ledger/manifests.js';
import { nodeSigner, nodeEd25519Verify } from '../../platform/node-signer.js';
import { workerIntegrator } from '../../platform/worker-integrator.js';
import { verifyPool } from '../../platform/verify-pool.js';
import { manifestHashPool } from '../../platform/manifest-hash-pool.js';
import { allocatorInMaps } from '../../platform/allocator.js';
import { type AppOptions, MAX_EVENT_STREAMS, MAX_EVENT_STREAMS_PER_ADDRESS, createApp } from '../../server/app.js';
import { BODY_IDLE_TIMEOUT_MS, BODY_MIN_RATE, BODY_RATE_GRACE_MS } from '../../server/body.js';
import { DEFAULT_TRANSPORT_LIMITS, type TransportLimits, createHttpServer } from '../../server/transport.js';
import { createServerMetrics } from '../../server/metrics.js';
import { writeSecretFile } from '../keys.js';
import { UsageError } from '../output.js';
import { WitnessPublisher, type WitnessConfig } from '../../witness/publisher.js';
import { untilStopSignal } from '../signals.js';

interface ServeOptions {
  data: string;
  host: string;
  port: string;
  origin: string;
  witness: string[];
  witnessQuorum?: string;
  witnessTimeout: string;
  headersTimeout?: string;
  keepAliveTimeout?: string;
  maxRequestsPerSocket?: string;
  maxConnections?: string;
  maxConnectionsPerAddress?: string;
  bodyIdleTimeout?: string;
  bodyMinRate?: string;
  bodyGrace?: string;
  maxEventStreams?: string;
  maxEventStreamsPerAddress?: string;
  trustForwardedFor?: boolean;
  manifestClaimWithin?: string;
  manifestQuota?: string;
  manifestServerQuota?: string;
  maxClockSkew?: string;
}

/** How far a record's claimed `time` may be from the server's clock at admission (spec/api.md `clock-skew`), in seconds. */
export const DEFAULT_MAX_CLOCK_SKEW_S = 300;

function parseMaxClockSkewMs(opts: ServeOptions): number {
  const seconds = parseCount(opts.maxClockSkew, '--max-clock-skew', DEFAULT_MAX_CLOCK_SKEW_S);
  if (seconds < 1) throw new UsageError('--max-clock-skew must be at least 1');
  return seconds * 1000;
}

const MIB = 1024 * 1024;

/** Unclaimed manifests (spec/api.md "Unclaimed manifests"): how long a claim may take and the quotas, in seconds and MiB. */
function parseManifestLimits(opts: ServeOptions): Partial<ManifestLimits> {
  const d = DEFAULT_MANIFEST_LIMITS;
  const at = (text: string | undefined, flag: string, unit: number, fallback: number) => {
    const n = parseCount(text, flag, fallback / unit);
    if (n < 1) throw new UsageError(`${flag} must be at least 1`);
    return n * unit;
  };
  return {
    claimWithinMs: at(opts.manifestClaimWithin, '--manifest-claim-within', 1000, d.claimWithinMs),
    clientQuotaBytes: at(opts.manifestQuota, '--manifest-quota', MIB, d.clientQuotaBytes),
    serverQuotaBytes: at(opts.manifestServerQuota, '--manifest-server-quota', MIB, d.serverQuotaBytes),
  };
}

interface ClientLimits {
  transport: TransportLimits;
  app: Pick<AppOptions, 'bodyIdleTimeoutMs' | 'bodyMinRate' | 'bodyRateGraceMs' | 'maxEventStreams' | 'maxEventStreamsPerAddress' | 'trustForwardedFor'>;
}

/** The limits on slow and many clients (spec/api.md "Connections", "Request bodies"); 0 only where it means "none". */
function parseClientLimits(opts: ServeOptions): ClientLimits {
  const positive = (text: string | undefined, flag: string, fallback: number) => {
    const n = parseCount(text, flag, fallback);
    if (n < 1) throw new UsageError(`${flag} must be at least 1`);
    return n;
  };
  const d = DEFAULT_TRANSPORT_LIMITS;
  return {
    transport: {
      headersTimeoutMs: positive(opts.headersTimeout, '--headers-timeout', d.headersTimeoutMs),
      keepAliveTimeoutMs: positive(opts.keepAliveTimeout, '--keep-alive-timeout', d.keepAliveTimeoutMs),
      maxRequestsPerSocket: positive(opts.maxRequestsPerSocket, '--max-requests-per-socket', d.maxRequestsPerSocket),
      maxConnections: positive(opts.maxConnections, '--max-connections', d.maxConnections),
      maxConnectionsPerAddress: positive(opts.maxConnectionsPerAddress, '--max-connections-per-address', d.maxConnectionsPerAddress),
    },
    app: {
      bodyIdleTimeoutMs: positive(opts.bodyIdleTimeout, '--body-idle-timeout', BODY_IDLE_TIMEOUT_MS),
      bodyMinRate: parseCount(opts.bodyMinRate, '--body-min-rate', BODY_MIN_RATE),
      bodyRateGraceMs: parseCount(opts.bodyGrace, '--body-grace', BODY_RATE_GRACE_MS),
      maxEventStreams: positive(opts.maxEventStreams, '--max-event-streams', MAX_EVENT_STREAMS),
      maxEventStreamsPerAddress: positive(opts.maxEventStreamsPerAddress, '--max-event-streams-per-address', MAX_EVENT_STREAMS_PER_ADDRESS),
      trustForwardedFor: opts.trustForwardedFor === true,
    },
  };
}

/**
 * A warning when the server runs on glibc's malloc (Linux): under sustained writes its heap
 * fragments, and the server's memory grew ~25 MiB a minute where jemalloc's stayed flat, with
 * submissions 10× slower at the median (README, "Reliability"). npm start preloads jemalloc
 * when it is installed (bin/serve.sh).
 */
async function allocatorWarning(): Promise<string | undefined> {
  if (process.platform !== 'linux') return undefined;
  const maps = await readFile('/proc/self/maps', 'utf8').catch(() => '');
  if (allocatorInMaps(maps) !== 'glibc') return undefined;
  return 'memory allocator is glibc malloc, whose heap fragments under sustained load; install jemalloc (Debian, Ubuntu: apt-get install libjemalloc2) and start with npm start, which preloads it, or set LD_PRELOAD to it';
}

/** `--witness NAME=VKEY@URL`: split at the first `=` and at the first `@` after the key. */
export function parseWitnessFlag(text: string): WitnessConfig {
  const eq = text.indexOf('=');
  const at = text.indexOf('@', eq + 1);
  const [name, vkey, url] = [text.slice(0, eq), text.slice(eq + 1, at), text.slice(at + 1)];
  if (eq <= 0 || at < 0 || !vkey || !/^https?:\/\//.test(url)) throw new UsageError(`--witness must be NAME=VKEY@URL (http or https), got ${JSON.stringify(text)}`);
  return { name, vkey, url };
}

function parseCount(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^[0-9]{1,9}$/.test(text)) throw new UsageError(`${flag} must be a whole number, got ${JSON.stringify(text)}`);
  return Number(text);
}

interface WitnessFlags {
  witnesses: WitnessConfig[];
  quorum: number;
  timeoutMs: number;
}

/** Checks the --witness* flags before anything is created on disk; undefined without --witness. */
function parseWitnessFlags(opts: ServeOptions): WitnessFlags | undefined {
  const witnesses = opts.witness.map(parseWitnessFlag);
  const quorum = parseCount(opts.witnessQuorum, '--witness-quorum', witnesses.length);
  const timeoutMs = parseCount(opts.witnessTimeout, '--witness-timeout', 3000);
  if (witnesses.length === 0) {
    if (opts.witnessQuorum !== undefined) throw new UsageError('--witness-quorum needs --witness');
    return undefined;
  }
  if (timeoutMs < 1) throw new UsageError('--witness-timeout must be at least 1 ms');
  if (quorum > witnesses.length) throw new UsageError(`--witness-quorum ${quorum} is more than the ${witnesses.length} witness(es) given`);
  for (const w of witnesses) {
    try {
      cosignatureVerifier(w.vkey);
    } catch (e) {
      throw new UsageError(`--witness ${w.name}: ${(e as Error).message}`);
    }
  }
  return { witnesses, quorum, timeoutMs };
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

function listen(app: ReturnType<typeof createApp>, reads: FastReadOptions, limits: TransportLimits, hostname: string, port: number): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createHttpServer(withFastReads(getRequestListener(app.fetch), reads), limits);
    server.once('error', reject);
    server.listen(port, hostname, () => resolve({ server, port: (server.address() as AddressInfo).port }));
  });
}

export async function runServe(opts: ServeOptions): Promise<void> {
  const port = parsePort(opts.port);
  const witnessFlags = parseWitnessFlags(opts);
  const limits = parseClientLimits(opts);
  const manifestLimits = parseManifestLimits(opts);
  const maxClockSkewMs = parseMaxClockSkewMs(opts);
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
  const manifestHashes = manifestHashPool();
  const ledger = await openLedger({
    store,
    origin: opts.origin,
    signer: nodeSigner(key),
    verify: nodeEd25519Verify,
    verifyBatch: (checks) => signatures.verify(checks),
    integrator: workerIntegrator(),
    hashManifestSubtrees: (items, subtreeItems) => manifestHashes.subtreeRoots(items, subtreeItems),
    manifests: manifestLimits,
    maxClockSkewMs,
    clockRecords: true,
  });
  const shutdown = new AbortController();
  const metrics = createServerMetrics();
  const appOptions: AppOptions = { ledger, log: ledger.log, vkey: verifierKeyOf(key), shutdown: shutdown.signal, metrics, storeMemory: () => store.memoryUse(), ...limits.app };
  let publisher: WitnessPublisher | undefined;
  if (witnessFlags) {
    const p = new WitnessPublisher({ log: ledger.log, logVkey: verifierKeyOf(key), ...witnessFlags, verify: nodeEd25519Verify, warn: (m) => process.stderr.write(`pvl serve: ${m}\n`) });
    // A record waits for a witnessed checkpoint: two rounds' worth of timeouts, then 503.
    const maxWaitMs = 2 * witnessFlags.timeoutMs + 5000;
    Object.assign(appOptions, { published: () => p.published(), witnesses: () => p.status(), waitPublished: (i: number) => p.waitFor(i, maxWaitMs) });
    p.start();
    publisher = p;
  }
  const app = createApp(appOptions);
  const reads: FastReadOptions = { log: ledger.log, published: appOptions.published ?? (() => ledger.log.checkpoint), onAnswered: () => metrics.requests.inc(1, { code: '2xx' }) };
  const { server, port: bound } = await listen(app, reads, limits.transport, opts.host, port);
  const shownHost = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  console.log(`listening on http://${shownHost}:${bound}`);
  const allocator = await allocatorWarning();
  if (allocator) process.stderr.write(`pvl serve: ${allocator}\n`);

  await untilStopSignal();
  // Stop accepting; end event streams so open connections can drain; then the log finishes its round.
  shutdown.abort();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
  await closed;
  // Whatever fails while closing (a store that cannot be written), the workers must stop too,
  // or the process would outlive its server.
  try {
    await publisher?.close();
    await ledger.close();
  } finally {
    await Promise.all([signatures.close(), manifestHashes.close()]);
  }
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the ledger HTTP server (spec/api.md)')
    .option('--data <dir>', 'data directory (store and log key)', './data')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 = any free port)', '8080')
    .option('--origin <origin>', 'log origin (checkpoint first line and key name)', 'localhost/provenance-ledger')
    .option('--witness <NAME=VKEY@URL>', 'ask this witness to cosign every checkpoint (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--witness-quorum <k>', 'publish only checkpoints with at least K cosignatures (default: all witnesses)')
    .option('--witness-timeout <ms>', 'time each witness gets per checkpoint', '3000')
    .option('--headers-timeout <ms>', `time a request's line and headers may take (default ${DEFAULT_TRANSPORT_LIMITS.headersTimeoutMs})`)
    .option('--keep-alive-timeout <ms>', `idle keep-alive connections close after this (default ${DEFAULT_TRANSPORT_LIMITS.keepAliveTimeoutMs})`)
    .option('--max-requests-per-socket <n>', `requests one connection may carry (default ${DEFAULT_TRANSPORT_LIMITS.maxRequestsPerSocket})`)
    .option('--max-connections <n>', `open connections at most (default ${DEFAULT_TRANSPORT_LIMITS.maxConnections})`)
    .option('--max-connections-per-address <n>', `open connections per client address at most (default ${DEFAULT_TRANSPORT_LIMITS.maxConnectionsPerAddress})`)
    .option('--body-idle-timeout <ms>', `longest pause inside a request body (default ${BODY_IDLE_TIMEOUT_MS})`)
    .option('--body-min-rate <bytes/s>', `slowest average rate of a request body after the grace; 0: none (default ${BODY_MIN_RATE})`)
    .option('--body-grace <ms>', `how long a request body may arrive at any rate (default ${BODY_RATE_GRACE_MS})`)
    .option('--max-event-streams <n>', `open /events streams at most (default ${MAX_EVENT_STREAMS})`)
    .option('--max-event-streams-per-address <n>', `open /events streams per client address at most (default ${MAX_EVENT_STREAMS_PER_ADDRESS})`)
    .option('--manifest-claim-within <s>', `an unclaimed manifest is removed this long after it was stored (default ${DEFAULT_MANIFEST_LIMITS.claimWithinMs / 1000})`)
    .option('--manifest-quota <MiB>', `unclaimed manifest bytes per client address (default ${DEFAULT_MANIFEST_LIMITS.clientQuotaBytes / MIB})`)
    .option('--manifest-server-quota <MiB>', `unclaimed manifest bytes on the whole server (default ${DEFAULT_MANIFEST_LIMITS.serverQuotaBytes / MIB})`)
    .option('--max-clock-skew <s>', `refuse records whose claimed time is further than this from the server's clock (default ${DEFAULT_MAX_CLOCK_SKEW_S})`)
    .option('--trust-forwarded-for', 'take the client address for per-address stream caps from X-Forwarded-For (only behind a proxy that sets it)')
    .action(async (opts: ServeOptions) => {
      await runServe(opts);
      process.exitCode = 0;
    });
}

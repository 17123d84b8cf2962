/**
 * `records` group: record validation including the signature (against the raw node:crypto
 * Ed25519 verify rate measured in the same run), and streaming manifest build + root (hashing in
 * worker threads, and in this thread as a browser would).
 */
import { type KeyObject, createHash, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { type PrivateKey, formatPrivateKey, parsePrivateKey } from '../src/note/index.js';
import { nodeEd25519Verify, nodeSigner } from '../src/platform/node-signer.js';
import { verifyPool } from '../src/platform/verify-pool.js';
import { manifestHashPool } from '../src/platform/manifest-hash-pool.js';
import { type ConsentGrantRecord, type UseItem, type WorkId, RECORD_PAYLOAD_TYPE, decodeRecord, formatKeyRef, parseRecord, preAuthEncoding, signRecord, toHex, writeManifest } from '../src/records/index.js';
import type { ManifestBatchHasher } from '../src/records/manifest.js';
import { type Bench, type BenchResult, secondsSince } from './harness.js';

const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function benchKey(label: string): PrivateKey {
  const seed = createHash('sha256').update(`bench key ${label}`).digest();
  return parsePrivateKey(formatPrivateKey(label, seed));
}

const workId = (label: string): WorkId => `sha256:${createHash('sha256').update(label).digest('hex')}`;

/** Distinct, realistic consent grants (a few works each) by a pool of creators. */
function makeEntries(count: number): Uint8Array[] {
  const keys = Array.from({ length: 16 }, (_, i) => benchKey(`creator-${i}`));
  const signers = keys.map((k) => nodeSigner(k));
  return Array.from({ length: count }, (_, n) => {
    const key = keys[n % keys.length];
    const payload: ConsentGrantRecord = {
      type: 'consent-grant',
      v: 1,
      author: formatKeyRef(key.publicKey),
      time: '2026-01-01T00:00:00Z',
      works: [[workId(`a${n}`)], [workId(`b${n}`), `phash:${createHash('sha256').update(`p${n}`).digest('hex').slice(0, 16)}`]] as ConsentGrantRecord['works'],
      uses: { ai_generative_training: { use: 'allowed' }, ai_training: { use: 'allowed' }, ai_inference: { use: 'notAllowed' }, data_mining: { use: 'constrained', constraint_info: 'research only' } },
      commercial: false,
      licensees: 'anyone',
      validFrom: '2026-01-01T00:00:00Z',
      retireBy: '2030-01-01T00:00:00Z',
    };
    return signRecord(payload, signers[n % signers.length], { verify: nodeEd25519Verify });
  });
}

interface RawInput {
  key: KeyObject;
  msg: Uint8Array;
  sig: Buffer;
}

/** What raw node:crypto verification needs for each entry: key object, PAE message, signature. */
function rawInputs(entries: Uint8Array[]): RawInput[] {
  return entries.map((e) => {
    const env = JSON.parse(Buffer.from(e).toString('utf8')) as { payload: string; signatures: [{ keyid: string; sig: string }] };
    const publicKey = Buffer.from(env.signatures[0].keyid.slice('ed25519:'.length), 'hex');
    const key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
    return { key, msg: preAuthEncoding(RECORD_PAYLOAD_TYPE, Buffer.from(env.payload, 'base64')), sig: Buffer.from(env.signatures[0].sig, 'base64') };
  });
}

/** Seconds for raw node:crypto verifies of every input: the single-core Ed25519 limit. */
function rawVerifySeconds(inputs: RawInput[]): number {
  const start = performance.now();
  for (const x of inputs) if (!cryptoVerify(null, x.msg, x.key, x.sig)) throw new Error('raw verify failed');
  return secondsSince(start);
}

/** Seconds for full validation (parseRecord with the node:crypto verifier) of every entry. */
function recordsSeconds(entries: Uint8Array[]): number {
  const start = performance.now();
  for (const e of entries) parseRecord(e, { verify: nodeEd25519Verify });
  return secondsSince(start);
}

/**
 * Both rates, measured in alternating batches so that load from other processes on the machine
 * affects both alike (the figure that matters is their ratio).
 */
function verifyRates(entries: Uint8Array[], rounds: number): { records: number; raw: number } {
  const inputs = rawInputs(entries);
  const batch = 200;
  let rawSeconds = 0;
  let recordSeconds = 0;
  for (let r = 0; r < rounds; r++) {
    for (let at = 0; at < entries.length; at += batch) {
      rawSeconds += rawVerifySeconds(inputs.slice(at, at + batch));
      recordSeconds += recordsSeconds(entries.slice(at, at + batch));
    }
  }
  const total = rounds * entries.length;
  return { records: total / recordSeconds, raw: total / rawSeconds };
}

/**
 * Validation as the server does it: everything but the signature equations on this thread,
 * the equations in a worker (src/platform/verify-pool.ts), a few batches in flight.
 */
async function serverPipelineRate(entries: Uint8Array[], rounds: number): Promise<number> {
  const pool = verifyPool(1);
  try {
    const batch = 100;
    const inFlight: Array<Promise<void>> = [];
    const start = performance.now();
    for (let r = 0; r < rounds; r++) {
      for (let at = 0; at < entries.length; at += batch) {
        const checks = entries.slice(at, at + batch).flatMap((e) => decodeRecord(e).signatures);
        inFlight.push(
          pool.verify(checks).then((ok) => {
            if (!ok.every(Boolean)) throw new Error('a signature failed');
          }),
        );
        if (inFlight.length >= 4) await inFlight.shift();
      }
    }
    await Promise.all(inFlight);
    return (rounds * entries.length) / secondsSince(start);
  } finally {
    await pool.close();
  }
}

/** Items from a pool of work ids, each with a distinct consent index or none: no big arrays. */
function* manifestItems(count: number): Generator<UseItem> {
  const pool = Array.from({ length: 4096 }, (_, i) => [workId(`w${i}`), `phash:${i.toString(16).padStart(16, '0')}`] as UseItem['work']);
  for (let i = 0; i < count; i++) yield { work: pool[i & 4095], consent: i % 7 === 0 ? { none: true } : { index: i } };
}

/** Builds a manifest of `count` items; `batchHasher` hashes elsewhere (worker threads), else in this thread as a browser does. */
async function manifestBuild(count: number, batchHasher?: ManifestBatchHasher): Promise<{ itemsPerS: number; rssMb: number; bytes: number; root: string }> {
  (globalThis as { gc?: () => void }).gc?.();
  let bytes = 0;
  let peakRss = process.memoryUsage().rss;
  let chunks = 0;
  const start = performance.now();
  const { root } = await writeManifest(
    manifestItems(count),
    count,
    (chunk) => {
      bytes += chunk.length; // streamed out and dropped: the build must not hold the manifest
      if ((++chunks & 255) === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
    },
    { batchHasher },
  );
  const seconds = secondsSince(start);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  return { itemsPerS: count / seconds, rssMb: peakRss / 2 ** 20, bytes, root: toHex(root) };
}

/** manifest.build with the hashing in worker threads (as `pvl use declare` does), and in this thread for comparison. */
async function manifestBuilds(count: number): Promise<BenchResult> {
  const pool = manifestHashPool();
  try {
    await manifestBuild(100_000, pool); // start the workers and warm them up
    const m = await manifestBuild(count, pool);
    const inThread = await manifestBuild(count);
    if (inThread.root !== m.root) throw new Error(`parallel root ${m.root} differs from the in-thread root ${inThread.root}`);
    return { name: 'manifest.build', items: count, items_per_s: Math.round(m.itemsPerS), rss_mb: Math.round(m.rssMb), bytes: m.bytes, hash_workers: availableParallelism(), in_thread_items_per_s: Math.round(inThread.itemsPerS) };
  } finally {
    await pool.close();
  }
}

export const benches: Bench[] = [
  {
    group: 'records',
    async run({ quick }): Promise<BenchResult[]> {
      const entries = makeEntries(quick ? 500 : 2000);
      const rounds = quick ? 2 : 3;
      // Warm up both paths (JIT, key cache) with one pass over every entry: after only 400, V8
      // was still optimising parseRecord's functions during the first measured round.
      verifyRates(entries, 1);
      const { records: x, raw: y } = verifyRates(entries, rounds);
      await serverPipelineRate(entries.slice(0, 400), 1); // warm up the worker
      const pipeline = await serverPipelineRate(entries, rounds);
      const manifest = await manifestBuilds(quick ? 1_000_000 : 10_000_000);
      return [
        { name: 'records.verify', records_per_s: Math.round(x), ed25519_verify_limit_per_s: Math.round(y), ratio: Number((x / y).toFixed(3)), server_pipeline_records_per_s: Math.round(pipeline) },
        manifest,
      ];
    },
  },
];

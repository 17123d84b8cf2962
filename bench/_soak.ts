/**
 * The soak test (issue 7 §5), not part of `npm run bench`: `npm run soak [-- --minutes 10]
 * [-- --rate 5000]`. Starts `pvl serve` on a fresh data directory, declares training uses of
 * 2,000 granted works, then for the whole run holds signed-record submission at the floor rate
 * (issue 4: 5,000 records/s, batches of 50 with ?wait=checkpoint) while creator queries
 * (/creators/<key>/uses, with proof bundles) run alongside, 20 a second unless told otherwise. Submissions come from their own pool
 * of authors, so the queried creators' answers stay the same size and any drift in latency or
 * memory is the server's. Samples the server's RSS (/proc/<pid>/status) every 5 s. The records
 * are signed before the clock starts, in worker threads (bench/_soak-signer.ts), so the load
 * generator's share of the machine is sending, not signing; `--sign-live` signs each batch as it
 * is due instead, as the earlier runs did. The server is started as `npm start` starts it
 * (bin/serve.sh: with jemalloc when the machine has it; `allocator` in the figures says which).
 *
 * Prints a table of figures to stderr and one JSON line on stdout:
 * {"name":"soak","minutes","records","records_per_s","target_records_per_s","p50_ms_to_checkpoint",
 *  "p99_ms_to_checkpoint","queries","query_p50_ms","query_p99_ms","rss_start_mb","rss_end_mb",
 *  "rss_max_mb","rss_idle_after_mb","rss_slope_second_half_mb_per_min","rss_anon_start_mb","rss_anon_end_mb",
 *  "rss_file_end_mb","rss_anon_slope_second_half_mb_per_min","heap_start_mb","heap_end_mb",
 *  "heap_reserved_end_mb","external_end_mb","heap_slope_second_half_mb_per_min","records_per_s_by_minute",
 *  "memory_by_minute":[{"minute","rss","anon","file","heap","heapTotal","newSpace","oldSpace","external","leveldb","dedupFilter"}],
 *  "failed_requests","query_rate_per_s","server_cpu_cores",
 *  "server_cpu_us_per_record","ed25519_verify_us_before","ed25519_verify_us_after","allocator"}. The JS heap (in use, reserved) and external memory come from /metrics.
 * RSS at start is taken after seeding and a 10 s warm-up. Caches fill for the first twenty
 * minutes or so at 5,000 records/s, so whether memory levels off shows in the table of memory by
 * minute (what grows: V8's heap, external memory, the store's caches, or the rest) more than in
 * the slope of RSS over the second half (a least-squares fit of the 5 s samples); the rate's
 * trend shows in the submissions per minute.
 */
import type { ChildProcess } from 'node:child_process';
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { type Allocator, allocatorInMaps } from '../src/platform/allocator.js';
import { nodeEd25519Verify } from '../src/platform/node-signer.js';
import { type TrainingUseRecord, signRecord } from '../src/records/index.js';
import { percentile } from './harness.js';
import { grantEntry, makeAuthors, recordNow, workOf } from './_records.js';
import { batchBody, grantSigner, presignBatches } from './_soak-signer.js';
import { freePort, startServer } from './_server-process.js';


const SOAK_OPTIONS = {
  minutes: { type: 'string', default: '10' },
  rate: { type: 'string', default: '5000' },
  batch: { type: 'string', default: '50' },
  connections: { type: 'string', default: '128' },
  'query-connections': { type: 'string', default: '4' },
  'query-rate': { type: 'string', default: '20' },
  'sign-live': { type: 'boolean', default: false },
} as const;
const USAGE = 'usage: npm run soak [-- --minutes N] [--rate RECORDS_PER_S] [--batch N] [--connections N] [--query-connections N] [--query-rate N|0] [--sign-live]';
const { values: args } = parseSoakArgs();

/** The flags, or one line naming the bad one and exit 2. */
function parseSoakArgs() {
  try {
    return parseArgs({ options: SOAK_OPTIONS });
  } catch (err) {
    process.stderr.write(`soak: ${(err as Error).message.split('\n')[0]} (${USAGE})\n`);
    process.exit(2);
  }
}

const minutes = Number(args.minutes);
const rate = Number(args.rate);
const batchSize = Number(args.batch);
const connections = Number(args.connections);
const queryConnections = Number(args['query-connections']);
const queryRate = Number(args['query-rate']);
const positive = { minutes, rate, batch: batchSize, connections };
const bad = [
  ...Object.entries(positive).filter(([, n]) => !(n > 0)).map(([flag]) => `--${flag} must be a number above 0`),
  ...Object.entries({ 'query-connections': queryConnections, 'query-rate': queryRate }).filter(([, n]) => !(n >= 0)).map(([flag]) => `--${flag} must be a number, 0 or more`),
];
if (bad.length > 0) {
  process.stderr.write(`soak: ${bad[0]} (${USAGE})\n`);
  process.exit(2);
}

/** Set once the run is over and the server is being stopped on purpose. */
let stopping = false;
const dispatcher = new Agent({ connections: 512, pipelining: 1, keepAliveTimeout: 60_000 });
const decoder = new TextDecoder();

async function startSoakServer(dataDir: string, port: number): Promise<ChildProcess> {
  // Records signed ahead claim the time they were signed at: by the end of the run they are the
  // signing time plus the run old, beyond the default clock skew. An hour covers the signing.
  const skew = args['sign-live'] ? [] : ['--max-clock-skew', String(WARM_UP_SECONDS + minutes * 60 + 3600)];
  // Every connection comes from 127.0.0.1: lift the per-address cap (64) above the run's own.
  const perAddress = ['--max-connections-per-address', String(connections + queryConnections + 64)];
  const { child } = await startServer(dataDir, port, [...skew, ...perAddress]);
  // Keep reading its output so a chatty server never blocks on a full pipe.
  child.stdout!.resume();
  child.stderr!.on('data', (d: Buffer) => process.stderr.write(`server: ${d}`));
  child.once('exit', (code, signal) => stopping || process.stderr.write(`soak: the server exited during the run (code ${code}, signal ${signal})\n`));
  return child;
}

/**
 * Resident memory of a process in MiB (Linux): all of it, the anonymous part (heaps: V8's,
 * malloc's), and the file-backed part. LevelDB maps its table files into memory to read them;
 * those pages count in the RSS but are clean page cache the kernel can take back at any time,
 * so the anonymous part is the one that says whether the server's memory grows.
 */
async function residentMb(pid: number): Promise<{ rss: number; anon: number; file: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const mb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) / 1024;
  return { rss: mb('VmRSS'), anon: mb('RssAnon'), file: mb('RssFile') };
}

/** The server's memory allocator: jemalloc when npm start's launcher found it, else the C library's. */
async function allocatorOf(pid: number): Promise<Allocator> {
  return allocatorInMaps(await readFile(`/proc/${pid}/maps`, 'utf8'));
}

/** CPU seconds a process has used so far, all its threads (Linux, /proc/<pid>/stat; clock ticks of 1/100 s). */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** What the server reports of its memory in /metrics, in MiB. */
interface ServerMemory {
  /** JavaScript heap in use. */
  heap: number;
  /** JavaScript heap reserved: all of it, and its young (new space) and old generations. */
  heapTotal: number;
  newSpace: number;
  oldSpace: number;
  /** Buffers and typed arrays (the tile cache and the dedup filter among them). */
  external: number;
  /** The store's parts: LevelDB's block cache and memtables, the dedup filter. */
  leveldb: number;
  dedupFilter: number;
}

async function serverMemory(url: string): Promise<ServerMemory> {
  const res = await request(`${url}/metrics`, { dispatcher });
  const text = await res.body.text();
  const mb = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]) / 2 ** 20;
  return {
    heap: mb('nodejs_heap_size_used_bytes'),
    heapTotal: mb('nodejs_heap_size_total_bytes'),
    newSpace: mb('nodejs_heap_space_size_total_bytes\\{space="new_space"\\}'),
    oldSpace: mb('nodejs_heap_space_size_total_bytes\\{space="old_space"\\}'),
    external: mb('nodejs_external_memory_bytes'),
    leveldb: mb('pvl_store_memory_bytes\\{part="leveldb"\\}'),
    dedupFilter: mb('pvl_store_memory_bytes\\{part="dedup-filter"\\}'),
  };
}

/**
 * POSTs records with ?wait=checkpoint. The answer is kept only when asked for or when it is not
 * a success: the load generator shares the two cores and must not spend them decoding answers.
 */
async function post(url: string, body: string | Buffer, keepAnswer = false): Promise<{ status: number; json: unknown }> {
  const res = await request(`${url}/records?wait=checkpoint`, { method: 'POST', body, headers: { 'content-type': 'application/json' }, dispatcher });
  if (!keepAnswer && (res.statusCode === 200 || res.statusCode === 201)) {
    await drain(res.body);
    return { status: res.statusCode, json: null };
  }
  const text = await res.body.text();
  return { status: res.statusCode, json: text ? JSON.parse(text) : null };
}

/** Reads a response body to its end without holding it. */
async function drain(body: AsyncIterable<unknown>): Promise<void> {
  for await (const chunk of body) void chunk;
}

/** 2,000 grants by the queried creators and 200 training uses of 20 items each over them. */
async function seed(url: string, creators: ReturnType<typeof makeAuthors>): Promise<void> {
  const [builder] = makeAuthors(1, 'soak-builder');
  const grants = 2_000;
  const indexes: number[] = [];
  for (let at = 0; at < grants; at += 500) {
    const body = `[${Array.from({ length: Math.min(500, grants - at) }, (_, i) => decoder.decode(grantEntry(creators, at + i, `seed ${at + i}`))).join(',')}]`;
    const answer = await post(url, body, true);
    if (answer.status !== 201) throw new Error(`seeding grants answered ${answer.status}: ${JSON.stringify(answer.json).slice(0, 300)}`);
    indexes.push(...(answer.json as { results: Array<{ index: number }> }).results.map((r) => r.index));
  }
  const uses = Array.from({ length: 200 }, (_, u) => {
    const items = Array.from({ length: 20 }, (_, i) => {
      const n = (u * 20 + i) % grants;
      return { work: [workOf(`seed ${n}`)], consent: { index: indexes[n] } };
    });
    const payload: TrainingUseRecord = { type: 'training-use', v: 1, author: builder.ref, time: recordNow(), model: { name: 'soak-model', version: `${u}` }, purpose: 'generative-training', commercial: false, items: items as TrainingUseRecord['items'] };
    return decoder.decode(signRecord(payload, builder.signer, { verify: nodeEd25519Verify }));
  });
  for (let at = 0; at < uses.length; at += 50) {
    const answer = await post(url, `[${uses.slice(at, at + 50).join(',')}]`);
    if (answer.status !== 201) throw new Error(`seeding uses answered ${answer.status}: ${JSON.stringify(answer.json).slice(0, 300)}`);
  }
}

interface Figures {
  submitLatencies: number[];
  queryLatencies: number[];
  records: number;
  failed: number;
}

/** Where submitLoad takes batch k's body from: signed before the run, or just in time. */
type Batches = (k: number) => string | Buffer;

/**
 * Submission paced at `rate`: batch `first` + k leaves no earlier than start + k·batch/rate, from
 * `connections` concurrent clients (each waits for its checkpoint).
 */
async function submitLoad(url: string, deadline: number, figures: Figures, batches: Batches, first: number): Promise<void> {
  const start = performance.now();
  const interval = (batchSize / rate) * 1000;
  let next = 0;
  const worker = async () => {
    for (;;) {
      const k = next++;
      const due = start + k * interval;
      // Behind schedule the backlog is dropped at the deadline, not worked off after it.
      if (due >= deadline || performance.now() >= deadline) return;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const body = batches(first + k);
      const t = performance.now();
      try {
        const res = await post(url, body);
        if (res.status === 201 || res.status === 200) {
          figures.submitLatencies.push(performance.now() - t);
          figures.records += batchSize;
        } else {
          figures.failed++;
          if (figures.failed <= 3) process.stderr.write(`submit answered ${res.status}: ${JSON.stringify(res.json).slice(0, 300)}\n`);
        }
      } catch (err) {
        figures.failed++;
        if (figures.failed <= 3) process.stderr.write(`submit failed: ${(err as Error).message}\n`);
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
}

/** Warm-up before the measured run, under the same load. */
const WARM_UP_SECONDS = 10;

/**
 * The batches of the warm-up and the run. Signed ahead (the default), the generator spends its
 * share of the two cores on sending only; with --sign-live it signs each batch as it is due.
 */
async function prepareBatches(): Promise<Batches> {
  const writers = makeAuthors(256, 'soak-writer');
  if (args['sign-live']) {
    const grant = grantSigner(writers);
    return (k) => batchBody(grant, k, batchSize);
  }
  // One batch more than the schedule can ask for in each phase.
  const count = Math.ceil(((WARM_UP_SECONDS + minutes * 60) * rate) / batchSize) + 2;
  const started = performance.now();
  let shown = 0;
  const bodies = await presignBatches(writers, count, batchSize, (done) => {
    if (performance.now() - shown < 5_000 && done < count) return;
    shown = performance.now();
    process.stderr.write(`soak: signing ${(count * batchSize).toLocaleString('en-US')} records before the clock starts: ${Math.round((done / count) * 100)} %\n`);
  });
  process.stderr.write(`soak: signed in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  return (k) => bodies[k];
}

/**
 * Creator queries (/creators/<key>/uses) on `query-connections` connections. Paced at
 * `query-rate` a second (the default), each query's latency runs from when it was due, so a
 * server falling behind shows in it (no coordinated omission); `--query-rate 0` sends them back
 * to back instead, and they then take whatever the server has left from submission.
 */
async function queryLoad(url: string, deadline: number, creators: ReturnType<typeof makeAuthors>, figures: Figures): Promise<void> {
  const start = performance.now();
  let next = 0;
  const worker = async () => {
    for (;;) {
      const due = queryRate > 0 ? start + (next++ / queryRate) * 1000 : performance.now();
      if (due >= deadline || performance.now() >= deadline) return;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const creator = creators[Math.floor(Math.random() * creators.length)];
      try {
        const res = await request(`${url}/creators/${creator.ref}/uses`, { dispatcher });
        await drain(res.body);
        if (res.statusCode === 200) figures.queryLatencies.push(performance.now() - due);
        else figures.failed++;
      } catch {
        figures.failed++;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  await Promise.all(Array.from({ length: queryConnections }, worker));
}

/**
 * The machine's speed at the time, as one Ed25519 verification on OpenSSL in µs (the median of
 * five rounds of 2,000): shared machines vary by half from hour to hour, and the figures of a
 * run mean little without it.
 */
function ed25519VerifyMicros(): number {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const message = Buffer.alloc(400, 7);
  const signature = sign(null, message, privateKey);
  const rounds = Array.from({ length: 5 }, () => {
    const t = performance.now();
    for (let i = 0; i < 2_000; i++) verify(null, message, publicKey, signature);
    return ((performance.now() - t) / 2_000) * 1000;
  });
  return Number(percentile(rounds, 50).toFixed(1));
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'pvl-soak-'));
  let server: ChildProcess | undefined;
  // Interrupted: stop the server too, so no `pvl serve` outlives the script.
  const interrupt = () => {
    stopping = true;
    server?.kill('SIGTERM');
    process.exitCode = 130;
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    const port = await freePort();
    server = await startSoakServer(dataDir, port);
    const pid = server.pid!;
    const url = `http://127.0.0.1:${port}`;
    const creators = makeAuthors(64, 'soak-creator');
    await seed(url, creators);
    const batches = await prepareBatches();
    const verifyBefore = ed25519VerifyMicros();

    // Warm-up: the same load, not measured, so the start figure is a steady state. The run's
    // batches follow the warm-up's: a record sent twice would be a cheap duplicate.
    const warm: Figures = { submitLatencies: [], queryLatencies: [], records: 0, failed: 0 };
    const warmEnd = performance.now() + WARM_UP_SECONDS * 1000;
    await Promise.all([submitLoad(url, warmEnd, warm, batches, 0), queryLoad(url, warmEnd, creators, warm)]);
    const firstBatch = Math.ceil((WARM_UP_SECONDS * rate) / batchSize) + 1;

    const residentStart = await residentMb(pid);
    const rssStart = residentStart.rss;
    const cpuStart = await cpuSeconds(pid);
    const memoryStart = await serverMemory(url);
    const samples: Sample[] = [{ t: 0, ...residentStart, ...memoryStart, records: 0 }];
    const figures: Figures = { submitLatencies: [], queryLatencies: [], records: 0, failed: 0 };
    const start = performance.now();
    const deadline = start + minutes * 60_000;
    const sampler = setInterval(() => {
      void Promise.all([residentMb(pid), serverMemory(url)]).then(([{ rss, anon, file }, memory]) => {
        samples.push({ t: (performance.now() - start) / 1000, rss, anon, file, ...memory, records: figures.records });
        process.stderr.write(
          `soak: ${Math.round((performance.now() - start) / 1000)} s, ${figures.records} records, RSS ${rss.toFixed(0)} MiB (anonymous ${anon.toFixed(0)}, files ${file.toFixed(0)}), heap ${memory.heap.toFixed(0)} of ${memory.heapTotal.toFixed(0)} MiB, external ${memory.external.toFixed(0)} MiB\n`,
        );
      });
    }, 5_000);
    await Promise.all([submitLoad(url, deadline, figures, batches, firstBatch), queryLoad(url, deadline, creators, figures)]);
    clearInterval(sampler);
    const seconds = (performance.now() - start) / 1000;
    const residentEnd = await residentMb(pid);
    const rssEnd = residentEnd.rss;
    const serverCpu = (await cpuSeconds(pid)) - cpuStart;
    const memoryEnd = await serverMemory(url);
    const secondHalf = samples.filter((s) => s.t >= seconds / 2);
    // Idle for 10 s: what V8 and LevelDB give back once the load stops.
    await new Promise((r) => setTimeout(r, 10_000));
    const rssIdle = (await residentMb(pid)).rss;
    const verifyAfter = ed25519VerifyMicros();

    const result = {
      name: 'soak',
      minutes,
      records: figures.records,
      records_per_s: Math.round(figures.records / seconds),
      target_records_per_s: rate,
      p50_ms_to_checkpoint: Math.round(percentile(figures.submitLatencies, 50)),
      p99_ms_to_checkpoint: Math.round(percentile(figures.submitLatencies, 99)),
      queries: figures.queryLatencies.length,
      query_p50_ms: Number(percentile(figures.queryLatencies, 50).toFixed(1)),
      query_p99_ms: Number(percentile(figures.queryLatencies, 99).toFixed(1)),
      rss_start_mb: Math.round(rssStart),
      rss_end_mb: Math.round(rssEnd),
      rss_max_mb: Math.round(Math.max(...samples.map((s) => s.rss), rssEnd)),
      rss_idle_after_mb: Math.round(rssIdle),
      rss_slope_second_half_mb_per_min: Number((slope(secondHalf.map((s) => [s.t / 60, s.rss])) ?? 0).toFixed(1)),
      rss_anon_start_mb: Math.round(residentStart.anon),
      rss_anon_end_mb: Math.round(residentEnd.anon),
      rss_file_end_mb: Math.round(residentEnd.file),
      rss_anon_slope_second_half_mb_per_min: Number((slope(secondHalf.map((s) => [s.t / 60, s.anon])) ?? 0).toFixed(1)),
      heap_start_mb: Math.round(memoryStart.heap),
      heap_end_mb: Math.round(memoryEnd.heap),
      heap_reserved_end_mb: Math.round(memoryEnd.heapTotal),
      external_end_mb: Math.round(memoryEnd.external),
      heap_slope_second_half_mb_per_min: Number((slope(secondHalf.map((s) => [s.t / 60, s.heap])) ?? 0).toFixed(1)),
      records_per_s_by_minute: perMinute(samples),
      memory_by_minute: memoryByMinute(samples),
      failed_requests: figures.failed,
      query_rate_per_s: queryRate,
      server_cpu_cores: Number((serverCpu / seconds).toFixed(2)),
      server_cpu_us_per_record: Math.round((serverCpu / figures.records) * 1e6),
      ed25519_verify_us_before: verifyBefore,
      ed25519_verify_us_after: verifyAfter,
      allocator: await allocatorOf(pid),
    };
    process.stderr.write(memoryTable(result.memory_by_minute));
    for (const [k, v] of Object.entries(result)) if (k !== 'memory_by_minute') process.stderr.write(`${k.padEnd(34)} ${v}\n`);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    stopping = true;
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => server!.once('exit', r));
    }
    await dispatcher.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Least-squares slope of y over x, or undefined for fewer than two points. */
function slope(points: Array<[number, number]>): number | undefined {
  if (points.length < 2) return undefined;
  const mx = points.reduce((s, [x]) => s + x, 0) / points.length;
  const my = points.reduce((s, [, y]) => s + y, 0) / points.length;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx === 0 ? undefined : sxy / sxx;
}

interface Sample extends ServerMemory {
  t: number;
  rss: number;
  anon: number;
  file: number;
  records: number;
}

/** The memory table's columns: a figure of each sample and its heading. */
const MEMORY_COLUMNS = [
  ['rss', 'RSS'],
  ['anon', 'anonymous'],
  ['file', 'files'],
  ['heap', 'heap used'],
  ['heapTotal', 'heap reserved'],
  ['newSpace', 'new space'],
  ['oldSpace', 'old space'],
  ['external', 'external'],
  ['leveldb', 'LevelDB'],
  ['dedupFilter', 'dedup filter'],
] as const;

type MemoryRow = { minute: number } & Record<(typeof MEMORY_COLUMNS)[number][0], number>;

/**
 * The median of each memory figure over each whole minute (MiB): single samples swing by tens
 * of MiB with the garbage collector and the LevelDB memtable, so a plateau shows in medians.
 */
function memoryByMinute(samples: Sample[]): MemoryRow[] {
  const rows: MemoryRow[] = [];
  for (let m = 1; samples.some((s) => s.t >= m * 60); m++) {
    const inMinute = samples.filter((s) => s.t > (m - 1) * 60 && s.t <= m * 60);
    const medians = MEMORY_COLUMNS.map(([field]) => [field, Math.round(percentile(inMinute.map((s) => s[field]), 50))]);
    rows.push({ minute: m, ...Object.fromEntries(medians) } as MemoryRow);
  }
  return rows;
}

function memoryTable(rows: MemoryRow[]): string {
  const head = ['minute', ...MEMORY_COLUMNS.map(([, heading]) => heading)];
  const lines = rows.map((r) => [r.minute, ...MEMORY_COLUMNS.map(([field]) => r[field])].map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i])).join('  ');
  return `server memory by minute (MiB, medians of the 5 s samples)\n${[head, ...lines].map(format).join('\n')}\n`;
}

/** Records per second within each whole minute of the run, from the 5 s samples. */
function perMinute(samples: Array<{ t: number; records: number }>): number[] {
  const out: number[] = [];
  for (let m = 1; ; m++) {
    const end = samples.find((s) => s.t >= m * 60);
    const begin = [...samples].reverse().find((s) => s.t <= (m - 1) * 60 + 0.5) ?? samples[0];
    if (!end) return out;
    out.push(Math.round((end.records - begin.records) / (end.t - begin.t)));
  }
}

await main();

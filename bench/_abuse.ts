/**
 * The load generator for `server.abuse` (bench/server.ts), in its own process:
 * `node dist/bench/_abuse.js <url> <json options>`. Prints one JSON object with its figures.
 *
 * Honest traffic — signed submissions paced at 2,000 records/s (batches of 50, ?wait=checkpoint),
 * creator queries one at a time every 50 ms, /healthz every 100 ms — runs twice for the same
 * time: alone (the baseline),
 * then beside an attack:
 *  - one manifest naming the same work 20,000 times, claimed by a signed training use; the
 *    queries then include that work and its creator;
 *  - slow clients: each announces a 100 kB body and sends one byte every 2 s (reconnecting when
 *    the server drops it);
 *  - open SSE streams replaying from the start (`Last-Event-ID: 0.0`) of the attacked creator.
 * Attackers connect from other loopback addresses (127.0.1.x, 127.0.2.x), as many clients would;
 * honest traffic comes from 127.0.0.1.
 */
import { connect, type Socket } from 'node:net';
import { Agent, request } from 'undici';
import { nodeEd25519Verify } from '../src/platform/node-signer.js';
import { MANIFEST_ITEM_SIZE, ManifestBuilder, type TrainingUseRecord, signRecord, toHex } from '../src/records/index.js';
import { grantEntry, makeAuthors, recordNow, workOf as workLabel } from './_records.js';
import { percentile, secondsSince } from './harness.js';

const [url, optionsJson] = process.argv.slice(2);
const options = JSON.parse(optionsJson ?? '{}') as { seconds?: number; slowClients?: number; streams?: number; duplicates?: number; rate?: number };
const seconds = options.seconds ?? 30;
const SLOW_CLIENTS = options.slowClients ?? 200;
const STREAMS = options.streams ?? 500;
const DUPLICATES = options.duplicates ?? 20_000;
/** Honest submissions, records/s: what a busy registry takes, below what the server can. */
const SUBMIT_RATE = options.rate ?? 2_000;
const BATCH = 50;
const ATTACK_ADDRESSES = 50;
const { hostname, port } = new URL(url);
const dispatcher = new Agent({ connections: 56, pipelining: 1, keepAliveTimeout: 60_000 });
const decoder = new TextDecoder();

const creators = makeAuthors(64);
const [builder] = makeAuthors(1, 'builder');
const workOf = (n: number) => workLabel(String(n));

async function post(path: string, body: string | Uint8Array, type = 'application/json'): Promise<{ status: number; json: unknown }> {
  const res = await request(`${url}${path}`, { method: 'POST', body, headers: { 'content-type': type }, dispatcher });
  const text = await res.body.text();
  return { status: res.statusCode, json: text ? JSON.parse(text) : null };
}

async function submitOk(path: string, body: string): Promise<Array<{ index: number }>> {
  const answer = await post(path, body);
  if (answer.status !== 201 && answer.status !== 200) throw new Error(`${path} answered ${answer.status}: ${JSON.stringify(answer.json).slice(0, 300)}`);
  return (answer.json as { results: Array<{ index: number }> }).results;
}

function signUse(version: string, rest: Pick<TrainingUseRecord, 'items'> | Pick<TrainingUseRecord, 'manifest'>): string {
  const payload = {
    type: 'training-use',
    v: 1,
    author: builder.ref,
    time: recordNow(),
    model: { name: 'abuse-bench', version },
    purpose: 'generative-training',
    commercial: false,
    ...rest,
  } as TrainingUseRecord;
  return decoder.decode(signRecord(payload, builder.signer, { verify: nodeEd25519Verify }));
}

/** 2,000 granted works over 64 creators, 200 honest uses of 20 items; then the duplicate manifest. */
async function setUp(): Promise<{ grantIndexes: number[]; attackedWork: string; attackedCreator: string }> {
  const grants = 2_000;
  const grantIndexes: number[] = [];
  for (let at = 0; at < grants; at += 500) {
    const body = `[${Array.from({ length: Math.min(500, grants - at) }, (_, i) => decoder.decode(grantEntry(creators, 1e9 + at + i))).join(',')}]`;
    grantIndexes.push(...(await submitOk('/records?wait=checkpoint', body)).map((r) => r.index));
  }
  const uses: string[] = [];
  for (let u = 0; u < 200; u++) {
    const items = Array.from({ length: 20 }, (_, i) => {
      const n = (u * 20 + i) % grants;
      return { work: [workOf(1e9 + n)], consent: { index: grantIndexes[n] } };
    });
    uses.push(signUse(`${u}`, { items: items as TrainingUseRecord['items'] }));
  }
  for (let at = 0; at < uses.length; at += 50) await submitOk('/records?wait=checkpoint', `[${uses.slice(at, at + 50).join(',')}]`);

  const attackedWork = workOf(1e9);
  const manifest = new ManifestBuilder(DUPLICATES);
  const bytes = new Uint8Array(manifest.header.length + DUPLICATES * MANIFEST_ITEM_SIZE);
  bytes.set(manifest.header);
  const item = { work: [attackedWork], consent: { index: grantIndexes[0] } } as NonNullable<TrainingUseRecord['items']>[number];
  for (let i = 0; i < DUPLICATES; i++) manifest.addInto(item, bytes, manifest.header.length + i * MANIFEST_ITEM_SIZE);
  const { root, count } = manifest.finish();
  const uploaded = await post(`/manifests?root=${toHex(root)}&count=${count}`, bytes, 'application/octet-stream');
  if (uploaded.status !== 201 && uploaded.status !== 200) throw new Error(`manifest upload answered ${uploaded.status}: ${JSON.stringify(uploaded.json)}`);
  await submitOk('/records?wait=checkpoint', `[${signUse('duplicates', { manifest: { root: toHex(root), count } })}]`);
  return { grantIndexes, attackedWork, attackedCreator: creators[0].ref };
}

/** Pre-signed batches of fresh grants, enough for the submission rate over a phase. */
function signedBatches(phase: number): string[] {
  const total = Math.ceil(SUBMIT_RATE * seconds);
  const bodies: string[] = [];
  for (let at = 0; at < total; at += BATCH) {
    const entries: string[] = [];
    for (let n = at; n < Math.min(total, at + BATCH); n++) entries.push(decoder.decode(grantEntry(creators, 2e9 + phase * 1e8 + n)));
    bodies.push(`[${entries.join(',')}]`);
  }
  return bodies;
}

interface Phase {
  records_per_s: number;
  submit_p99_ms: number;
  query_p50_ms: number;
  query_p99_ms: number;
  queries: number;
  healthz_p99_ms: number;
  failed_requests: number;
}

/** Submissions, paced creator queries and /healthz probes for `seconds`. */
async function honestTraffic(bodies: string[], queryPaths: string[]): Promise<Phase> {
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const submitLatencies: number[] = [];
  const queryLatencies: number[] = [];
  const healthLatencies: number[] = [];
  let accepted = 0;
  let failed = 0;
  let next = 0;
  /** A failed request is counted (the first few named on stderr), not fatal: the run goes on. */
  const failure = (err: unknown) => {
    if (++failed <= 3) process.stderr.write(`abuse: ${(err as Error).message}\n`);
    return { status: 0, json: null };
  };
  // Paced, not flat out: a saturated server answers nothing else in time, attack or not.
  const submitter = async () => {
    while (performance.now() < deadline && next < bodies.length) {
      const n = next++;
      const due = start + (n * BATCH * 1000) / SUBMIT_RATE;
      if (due >= deadline) return;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const t = performance.now();
      const res = await post('/records?wait=checkpoint', bodies[n]).catch(failure);
      if (res.status === 201 || res.status === 200) {
        submitLatencies.push(performance.now() - t);
        accepted += (res.json as { results: unknown[] }).results.length;
      } else if (res.status !== 0) failure(new Error(`submission answered ${res.status}: ${JSON.stringify(res.json).slice(0, 200)}`));
    }
  };
  /** One request every `everyMs`, latency counted from when it was due (a server behind shows). */
  const paced = async (paths: string[], everyMs: number, latencies: number[]) => {
    for (let n = 0; ; n++) {
      const due = start + n * everyMs;
      if (due >= deadline) return;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      try {
        const res = await request(`${url}${paths[n % paths.length]}`, { dispatcher });
        await res.body.arrayBuffer();
        if (res.statusCode !== 200) failure(new Error(`${paths[n % paths.length]} answered ${res.statusCode}`));
      } catch (err) {
        failure(err);
      }
      latencies.push(performance.now() - due);
    }
  };
  await Promise.all([
    ...Array.from({ length: 48 }, submitter),
    paced(queryPaths, 50, queryLatencies),
    paced(['/healthz'], 100, healthLatencies),
  ]);
  const elapsed = secondsSince(start);
  return {
    records_per_s: accepted / elapsed,
    submit_p99_ms: percentile(submitLatencies, 99),
    query_p50_ms: percentile(queryLatencies, 50),
    query_p99_ms: percentile(queryLatencies, 99),
    queries: queryLatencies.length,
    healthz_p99_ms: percentile(healthLatencies, 99),
    failed_requests: failed,
  };
}

interface AttackCounts {
  slowConnections: number;
  slowDropped: number;
  streamsOpened: number;
  streamsRefused: number;
  streamBytes: number;
}

/** Keeps `count` attackers of one kind connected until `stop`, reconnecting each when dropped. */
function attackers(count: number, subnet: number, start: (socket: Socket, n: number) => void, onClose: (n: number) => void, stop: { done: boolean }): Promise<void>[] {
  return Array.from({ length: count }, async (_, n) => {
    const localAddress = `127.0.${subnet}.${(n % ATTACK_ADDRESSES) + 1}`;
    while (!stop.done) {
      await new Promise<void>((resolve) => {
        const socket = connect({ host: hostname, port: Number(port), localAddress }, () => start(socket, n));
        socket.on('error', () => socket.destroy());
        socket.on('close', () => {
          onClose(n);
          resolve();
        });
        const check = setInterval(() => {
          if (stop.done) socket.destroy();
        }, 200);
        socket.on('close', () => clearInterval(check));
      });
      if (!stop.done) await new Promise((r) => setTimeout(r, 1000));
    }
  });
}

function startAttack(attackedCreator: string, stop: { done: boolean }): { counts: AttackCounts; finished: Promise<unknown> } {
  const counts: AttackCounts = { slowConnections: 0, slowDropped: 0, streamsOpened: 0, streamsRefused: 0, streamBytes: 0 };
  const slow = attackers(
    SLOW_CLIENTS,
    1,
    (socket) => {
      counts.slowConnections++;
      socket.write(`POST /records HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[`);
      const drip = setInterval(() => socket.write(' '), 2000);
      socket.on('close', () => clearInterval(drip));
      socket.resume();
    },
    () => counts.slowDropped++,
    stop,
  );
  const streams = attackers(
    STREAMS,
    2,
    (socket) => {
      socket.write(`GET /events?creator=${attackedCreator} HTTP/1.1\r\nHost: ${hostname}\r\nAccept: text/event-stream\r\nLast-Event-ID: 0.0\r\n\r\n`);
      let head = '';
      socket.on('data', (chunk: Buffer) => {
        counts.streamBytes += chunk.length;
        if (head.length < 12) {
          head += chunk.toString('latin1');
          if (head.length >= 12) (/^HTTP\/1\.1 200/.test(head) ? counts.streamsOpened++ : counts.streamsRefused++);
        }
      });
    },
    () => {},
    stop,
  );
  return { counts, finished: Promise.all([...slow, ...streams]) };
}

const { attackedWork, attackedCreator } = await setUp();
const honestCreators = creators.slice(1, 9).map((c) => `/creators/${c.ref}/uses`);
const queryPaths = [...honestCreators, `/works/${attackedWork}/uses`, `/creators/${attackedCreator}/uses`];
const baselineBodies = signedBatches(0);
const attackBodies = signedBatches(1);
const baseline = await honestTraffic(baselineBodies, queryPaths);
const stop = { done: false };
const attack = startAttack(attackedCreator, stop);
// Let the attackers connect before the clock starts.
await new Promise((r) => setTimeout(r, 3000));
const underAttack = await honestTraffic(attackBodies, queryPaths);
stop.done = true;
await attack.finished;
process.stdout.write(
  `${JSON.stringify({
    duplicates: DUPLICATES,
    slow_clients: SLOW_CLIENTS,
    sse_streams: STREAMS,
    target_records_per_s: SUBMIT_RATE,
    baseline_records_per_s: baseline.records_per_s,
    records_per_s: underAttack.records_per_s,
    submit_ratio: underAttack.records_per_s / baseline.records_per_s,
    submit_p99_ms: underAttack.submit_p99_ms,
    query_p50_ms: underAttack.query_p50_ms,
    query_p99_ms: underAttack.query_p99_ms,
    baseline_query_p99_ms: baseline.query_p99_ms,
    queries: underAttack.queries,
    healthz_p99_ms: underAttack.healthz_p99_ms,
    baseline_healthz_p99_ms: baseline.healthz_p99_ms,
    failed_requests: baseline.failed_requests + underAttack.failed_requests,
    slow_connections: attack.counts.slowConnections,
    slow_dropped: attack.counts.slowDropped,
    streams_opened: attack.counts.streamsOpened,
    streams_refused: attack.counts.streamsRefused,
    stream_mib: attack.counts.streamBytes / 2 ** 20,
  })}\n`,
);
await dispatcher.close();

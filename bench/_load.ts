/**
 * The load generator for bench/server.ts, run as its own process so that the server is measured
 * over loopback as a client would see it: `node dist/bench/_load.js <mode> <url> <json options>`.
 * Prints one JSON object with its figures.
 *
 *  submit — pre-signs consent grants (64 creators, distinct works), then POSTs batches with
 *           ?wait=checkpoint from many connections: records/s and submit→checkpoint latency.
 *  tiles  — GETs random full level-0 tiles: requests/s.
 *  uses   — declares training uses of some granted works, then GETs creators' uses (with proof
 *           bundles, ~60 per creator): latency percentiles one query at a time, then queries/s
 *           and latencies with 8 concurrent connections.
 */
import { Agent, request } from 'undici';
import { formatTilePath } from '../src/merkle/index.js';
import { nodeEd25519Verify } from '../src/platform/node-signer.js';
import { type TrainingUseRecord, signRecord } from '../src/records/index.js';
import { grantEntry, makeAuthors, recordNow, workOf as workLabel } from './_records.js';
import { percentile, secondsSince } from './harness.js';

const [mode, url, optionsJson] = process.argv.slice(2);
const options = JSON.parse(optionsJson ?? '{}') as { seconds?: number; connections?: number; batch?: number; treeSize?: number; creators?: number };
const dispatcher = new Agent({ connections: 256, pipelining: 1, keepAliveTimeout: 60_000 });

const creators = makeAuthors(options.creators ?? 64);
const [builder] = makeAuthors(1, 'builder');
const workOf = (n: number) => workLabel(String(n));
const grantFor = (n: number) => grantEntry(creators, n);

async function post(path: string, body: string): Promise<{ status: number; json: unknown }> {
  const res = await request(`${url}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json' }, dispatcher });
  const text = await res.body.text();
  return { status: res.statusCode, json: text ? JSON.parse(text) : null };
}

async function get(path: string): Promise<number> {
  const res = await request(`${url}${path}`, { dispatcher });
  await res.body.arrayBuffer();
  return res.statusCode;
}

async function submit(): Promise<Record<string, number>> {
  const seconds = options.seconds ?? 60;
  const batch = options.batch ?? 50;
  const connections = options.connections ?? 48;
  // Enough pre-signed records for 12,000/s over the whole run: the generator must not be the limit.
  const total = Math.ceil(12_000 * seconds);
  const bodies: string[] = [];
  for (let at = 0; at < total; at += batch) {
    const entries: string[] = [];
    for (let n = at; n < Math.min(total, at + batch); n++) entries.push(new TextDecoder().decode(grantFor(n)));
    bodies.push(`[${entries.join(',')}]`);
  }
  const latencies: number[] = [];
  let accepted = 0;
  let failed = 0;
  let next = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline && next < bodies.length) {
      const body = bodies[next++];
      const t = performance.now();
      const res = await post('/records?wait=checkpoint', body);
      if (res.status === 201 || res.status === 200) {
        latencies.push(performance.now() - t);
        accepted += (res.json as { results: unknown[] }).results.length;
      } else {
        failed++;
        if (failed <= 3) process.stderr.write(`submit answered ${res.status}: ${JSON.stringify(res.json).slice(0, 300)}\n`);
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsed = secondsSince(start);
  return { records: accepted, seconds: elapsed, records_per_s: accepted / elapsed, p50_ms_to_checkpoint: percentile(latencies, 50), p99_ms_to_checkpoint: percentile(latencies, 99), failed_requests: failed };
}

async function tiles(): Promise<Record<string, number>> {
  const seconds = options.seconds ?? 20;
  const fullTiles = Math.floor((options.treeSize ?? 1_000_000) / 256);
  // Under the server's 64-connections-per-address cap (spec/api.md), all from 127.0.0.1.
  const connections = options.connections ?? 48;
  const path = (n: number) => `/${formatTilePath({ level: 0, index: n, width: 256 })}`;
  let done = 0;
  let bad = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const status = await get(path(Math.floor(Math.random() * fullTiles)));
      if (status === 200) done++;
      else bad++;
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsed = secondsSince(start);
  return { requests: done, requests_per_s: done / elapsed, non_200: bad };
}

async function uses(): Promise<Record<string, number>> {
  const grants = 2_000;
  const grantIndexes: number[] = [];
  // The server takes at most 1 MiB per request: send the grants in batches.
  for (let at = 0; at < grants; at += 500) {
    const body = `[${Array.from({ length: Math.min(500, grants - at) }, (_, i) => new TextDecoder().decode(grantFor(1e9 + at + i))).join(',')}]`;
    const answer = await post('/records?wait=checkpoint', body);
    if (answer.status !== 201 && answer.status !== 200) throw new Error(`grants answered ${answer.status}: ${JSON.stringify(answer.json).slice(0, 300)}`);
    grantIndexes.push(...(answer.json as { results: Array<{ index: number }> }).results.map((r) => r.index));
  }
  // 200 training uses of 20 items each over the granted works.
  const useBodies: string[] = [];
  for (let u = 0; u < 200; u++) {
    const items = Array.from({ length: 20 }, (_, i) => {
      const n = (u * 20 + i) % grants;
      return { work: [workOf(1e9 + n)], consent: { index: grantIndexes[n] } };
    });
    const payload: TrainingUseRecord = {
      type: 'training-use',
      v: 1,
      author: builder.ref,
      time: recordNow(),
      model: { name: 'bench-model', version: `${u}` },
      purpose: 'generative-training',
      commercial: false,
      items: items as TrainingUseRecord['items'],
    };
    useBodies.push(new TextDecoder().decode(signRecord(payload, builder.signer, { verify: nodeEd25519Verify })));
  }
  for (let at = 0; at < useBodies.length; at += 50) {
    const declared = await post('/records?wait=checkpoint', `[${useBodies.slice(at, at + 50).join(',')}]`);
    if (declared.status !== 201 && declared.status !== 200) throw new Error(`uses answered ${declared.status}: ${JSON.stringify(declared.json).slice(0, 300)}`);
  }
  const seconds = options.seconds ?? 15;
  // One creator at a time (the latency a creator sees), then 8 at once (what the server sustains).
  const alone = await queryCreators(1, seconds / 2);
  const crowd = await queryCreators(options.connections ?? 8, seconds / 2);
  return {
    queries: alone.latencies.length,
    p50_ms: percentile(alone.latencies, 50),
    p99_ms: percentile(alone.latencies, 99),
    concurrent: options.connections ?? 8,
    concurrent_queries_per_s: crowd.latencies.length / crowd.seconds,
    concurrent_p50_ms: percentile(crowd.latencies, 50),
    concurrent_p99_ms: percentile(crowd.latencies, 99),
  };
}

/** GETs random creators' uses from `connections` connections for `seconds`: latencies in ms. */
async function queryCreators(connections: number, seconds: number): Promise<{ latencies: number[]; seconds: number }> {
  const latencies: number[] = [];
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const creator = creators[Math.floor(Math.random() * creators.length)];
      const t = performance.now();
      const status = await get(`/creators/${creator.ref}/uses`);
      if (status !== 200) throw new Error(`/creators/…/uses answered ${status}`);
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  return { latencies, seconds: secondsSince(start) };
}

const modes: Record<string, () => Promise<Record<string, number>>> = { submit, tiles, uses };
const run = modes[mode];
if (!run) {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
const result = await run();
process.stdout.write(`${JSON.stringify(result)}\n`);
await dispatcher.close();

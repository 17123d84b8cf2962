/**
 * `works` group: similarity lookup p50/p99 over 10,000,000 random 64-bit codes (1,000,000 with
 * --quick) at the default phash threshold and at d = 20 (the API's largest), with the index's
 * bytes per id and build time (adds + compaction); image identifiers per second (decode + resize + code).
 */
import sharp from 'sharp';
import { DEFAULT_MAX_DISTANCE, SimilarityIndex, imageWorkId } from '../src/works/index.js';
import { grey32 } from '../src/works/node.js';
import { type Bench, type BenchResult, percentile, secondsSince } from './harness.js';

/**
 * mulberry32: fast deterministic 32-bit words without BigInt. (Until 2026-11 this was xorshift32,
 * whose consecutive words are a fixed linear function of each other, so the "random" codes had
 * ~15 stored neighbours within distance 12 of each query instead of ~1.)
 */
function randomWords(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Bytes held in ArrayBuffers (after collections when --expose-gc is given; one is not enough to free them all). */
function arrayBufferBytes(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  return process.memoryUsage().arrayBuffers;
}

/** Process CPU time in ms (user + system), to tell the query's own cost from waiting for a core. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

async function similar(ids: number): Promise<BenchResult[]> {
  const next = randomWords(0x5eed);
  const before = arrayBufferBytes();
  const buildStart = performance.now();
  const index = new SimilarityIndex(ids);
  const his = new Uint32Array(1000);
  const los = new Uint32Array(1000);
  for (let i = 0; i < ids; i++) {
    const hi = next();
    const lo = next();
    if (i % (ids / 1000) === 0) {
      his[(i / (ids / 1000)) | 0] = hi;
      los[(i / (ids / 1000)) | 0] = lo;
    }
    index.addHalves(hi, lo, i);
  }
  const addS = secondsSince(buildStart);
  index.compact();
  const buildS = secondsSince(buildStart);
  const heldBytes = arrayBufferBytes() - before;
  const run = (max: number, queries: number): { wall: number[]; cpu: number[]; matches: number } => {
    const wall: number[] = [];
    const cpu: number[] = [];
    let matches = 0;
    for (let q = 0; q < queries; q++) {
      // A near copy of a stored code: flip 6 bits.
      const code = ((BigInt(his[q]) << 32n) | BigInt(los[q])) ^ 0x8100_0042_0000_1800n;
      const cpuStart = cpuMs();
      const start = performance.now();
      const found = index.query(code, max);
      wall.push(performance.now() - start);
      cpu.push(cpuMs() - cpuStart);
      matches += found.length;
      if (!found.some((m) => m.payload === q * (ids / 1000))) throw new Error('bench: a stored near copy was not found');
    }
    return { wall, cpu, matches: matches / queries };
  };
  const max = DEFAULT_MAX_DISTANCE.phash;
  const near = run(max, 1000);
  const wide = run(20, 200);
  const figures = (r: { wall: number[]; cpu: number[]; matches: number }) => ({
    queries: r.wall.length, matches_mean: r.matches, p50_ms: percentile(r.wall, 50), p99_ms: percentile(r.wall, 99),
    cpu_p50_ms: percentile(r.cpu, 50), cpu_p99_ms: percentile(r.cpu, 99),
  });
  return [
    { name: 'works.similar', ids, max_distance: max, ...figures(near), bytes_per_id: index.byteLength / ids, array_buffer_bytes_per_id: heldBytes / ids, build_s: buildS, add_s: addS },
    { name: 'works.similar.d20', ids, max_distance: 20, ...figures(wide) },
  ];
}

async function imageIds(quick: boolean): Promise<BenchResult> {
  const svg = (i: number): Buffer => Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480"><rect width="100%" height="100%" fill="rgb(${i % 256},90,160)"/><circle cx="${100 + i}" cy="200" r="120" fill="#fc3"/></svg>`);
  const images = await Promise.all(Array.from({ length: 16 }, (_, i) => sharp(svg(i)).jpeg({ quality: 85 }).toBuffer()));
  const n = quick ? 64 : 400;
  const start = performance.now();
  for (let i = 0; i < n; i++) imageWorkId(await grey32(images[i % images.length]));
  return { name: 'works.id', images: n, width: 640, height: 480, images_per_s: n / secondsSince(start) };
}

export const benches: Bench[] = [
  {
    group: 'works',
    async run({ quick }) {
      return [...(await similar(quick ? 1_000_000 : 10_000_000)), await imageIds(quick)];
    },
  },
];

/**
 * `works` group: similarity lookup p99 over 10,000,000 random 64-bit codes (1,000,000 with
 * --quick) at the default phash threshold, and image identifiers per second (decode + resize + code).
 */
import sharp from 'sharp';
import { DEFAULT_MAX_DISTANCE, SimilarityIndex, imageWorkId } from '../src/works/index.js';
import { grey32 } from '../src/works/node.js';
import { type Bench, type BenchResult, percentile, secondsSince } from './harness.js';

/** xorshift32: fast deterministic codes without BigInt. */
function randomWords(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

async function similar(ids: number): Promise<BenchResult> {
  const next = randomWords(0x5eed);
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
  const times: number[] = [];
  const max = DEFAULT_MAX_DISTANCE.phash;
  for (let q = 0; q < his.length; q++) {
    // A near copy of a stored code: flip 6 bits.
    const code = ((BigInt(his[q]) << 32n) | BigInt(los[q])) ^ 0x8100_0042_0000_1800n;
    const start = performance.now();
    const found = index.query(code, max);
    times.push(performance.now() - start);
    if (found.length === 0) throw new Error('bench: a stored near copy was not found');
  }
  return { name: 'works.similar', ids, max_distance: max, p50_ms: percentile(times, 50), p99_ms: percentile(times, 99) };
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
      return [await similar(quick ? 1_000_000 : 10_000_000), await imageIds(quick)];
    },
  },
];

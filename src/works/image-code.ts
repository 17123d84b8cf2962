/**
 * ISCC image Content-Code (ISO 24138, iscc-core `soft_hash_image_v0`, 64 bits) over 32×32
 * greyscale pixels. Browser-safe: the caller decodes and resizes (see node.ts, or a canvas).
 */
import { formatWorkId, type WorkId } from '../records/works.js';
import { WorkError } from './errors.js';

export const IMAGE_SIDE = 32;

/** cos(π/N·(n+½)·k) for N = 32, row k. Unnormalised DCT-II, as iscc-core: scale does not change the bits. */
const COS = (() => {
  const t = new Float64Array(IMAGE_SIDE * IMAGE_SIDE);
  for (let k = 0; k < IMAGE_SIDE; k++)
    for (let n = 0; n < IMAGE_SIDE; n++) t[k * IMAGE_SIDE + n] = Math.cos((Math.PI / IMAGE_SIDE) * (n + 0.5) * k);
  return t;
})();

/** DCT-II of `len` values read from `src` at `off` with `stride`; writes to `dst` the same way. */
function dct(src: Float64Array, off: number, stride: number, dst: Float64Array): void {
  for (let k = 0; k < IMAGE_SIDE; k++) {
    let s = 0;
    for (let n = 0; n < IMAGE_SIDE; n++) s += src[off + n * stride] * COS[k * IMAGE_SIDE + n];
    dst[off + k * stride] = s;
  }
}

/** The 32×32 2-D DCT (rows, then columns) of row-major pixels. */
export function dct2d(pixels: ArrayLike<number>): Float64Array {
  const a = Float64Array.from(pixels);
  const rows = new Float64Array(a.length);
  for (let y = 0; y < IMAGE_SIDE; y++) dct(a, y * IMAGE_SIDE, 1, rows);
  const out = new Float64Array(a.length);
  for (let x = 0; x < IMAGE_SIDE; x++) dct(rows, x, IMAGE_SIDE, out);
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The 64 code bits (8 bytes, MSB first): coefficient (y,x) for y,x in 0..7 row-major, bit = value > median. */
export function imageCodeBytes(grey32: ArrayLike<number>): Uint8Array {
  if (grey32.length !== IMAGE_SIDE * IMAGE_SIDE)
    throw new WorkError('bad-pixels', `need ${IMAGE_SIDE}×${IMAGE_SIDE} greyscale pixels, got ${grey32.length}`, 'pixels');
  const d = dct2d(grey32);
  const low: number[] = [];
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) low.push(d[y * IMAGE_SIDE + x]);
  const med = median(low);
  const out = new Uint8Array(8);
  low.forEach((v, i) => {
    if (v > med) out[i >> 3] |= 0x80 >> (i & 7);
  });
  return out;
}

/** `phash:<16 hex>` of 32×32 greyscale pixels (values 0..255, row-major). */
export function imageWorkId(grey32: ArrayLike<number>): WorkId {
  return formatWorkId('phash', imageCodeBytes(grey32));
}

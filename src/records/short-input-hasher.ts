/**
 * An RFC 6962 hasher specialised for short inputs: manifest leaves (1 + 49 bytes, one SHA-256
 * block) and interior nodes (65 bytes, two blocks).
 *
 * Why a second SHA-256: a manifest of ten million items needs twenty million hashes, and the
 * cost of a general-purpose call (node:crypto's per-call setup, or @noble/hashes' per-call
 * objects) is several times the cost of compressing one block. This one pads into a reused
 * buffer and compresses in place, about twice as fast as node:crypto for these sizes, and is
 * plain JavaScript, so the browser gets the same speed. Longer inputs fall back to
 * @noble/hashes. Tests check it against @noble/hashes and node:crypto.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import type { Hash, Hasher } from '../merkle/index.js';

const ROUND_CONSTANTS = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7,
  0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
  0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const INITIAL_STATE = Int32Array.from([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

/** Inputs up to this length fit two blocks with SHA-256's 0x80 byte and 8-byte length. */
const MAX_SHORT_INPUT = 128 - 9;

// Scratch state shared by every call: the hasher is synchronous and JavaScript single-threaded.
const schedule = new Int32Array(64);
const state = new Int32Array(8);
const blocks = new Uint8Array(128);

/** FIPS 180-4 §6.2.2 on the 64-byte block of `blocks` at `offset`, updating `state`. */
function compress(offset: number): void {
  const w = schedule;
  for (let i = 0; i < 16; i++) {
    const j = offset + i * 4;
    w[i] = (blocks[j] << 24) | (blocks[j + 1] << 16) | (blocks[j + 2] << 8) | blocks[j + 3];
  }
  for (let i = 16; i < 64; i++) {
    const w15 = w[i - 15];
    const w2 = w[i - 2];
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
  }
  let a = state[0], b = state[1], c = state[2], d = state[3], e = state[4], f = state[5], g = state[6], h = state[7];
  for (let i = 0; i < 64; i++) {
    const sigma1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const choose = (e & f) ^ (~e & g);
    const t1 = (h + sigma1 + choose + ROUND_CONSTANTS[i] + w[i]) | 0;
    const sigma0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const majority = (a & b) ^ (a & c) ^ (b & c);
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + sigma0 + majority) | 0;
  }
  state[0] = (state[0] + a) | 0;
  state[1] = (state[1] + b) | 0;
  state[2] = (state[2] + c) | 0;
  state[3] = (state[3] + d) | 0;
  state[4] = (state[4] + e) | 0;
  state[5] = (state[5] + f) | 0;
  state[6] = (state[6] + g) | 0;
  state[7] = (state[7] + h) | 0;
}

/** SHA-256 of the `length` message bytes already placed at the start of `blocks`. */
function digestBlocks(length: number): Hash {
  const blockCount = length + 9 <= 64 ? 1 : 2;
  const end = blockCount * 64;
  blocks.fill(0, length, end);
  blocks[length] = 0x80;
  const bits = length * 8; // < 2^16 here, so only the last two length bytes are non-zero
  blocks[end - 2] = bits >>> 8;
  blocks[end - 1] = bits & 0xff;
  state.set(INITIAL_STATE);
  compress(0);
  if (blockCount === 2) compress(64);
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    const v = state[i];
    out[i * 4] = v >>> 24;
    out[i * 4 + 1] = v >>> 16;
    out[i * 4 + 2] = v >>> 8;
    out[i * 4 + 3] = v;
  }
  return out;
}

/** SHA-256(prefix || data), fast for short data. */
function hashWithPrefix(prefix: number, data: Uint8Array): Hash {
  if (data.length + 1 > MAX_SHORT_INPUT) {
    const input = new Uint8Array(1 + data.length);
    input[0] = prefix;
    input.set(data, 1);
    return sha256(input);
  }
  blocks[0] = prefix;
  blocks.set(data, 1);
  return digestBlocks(1 + data.length);
}

const EMPTY_ROOT = sha256(new Uint8Array(0));

export const shortInputHasher: Hasher = {
  emptyRoot: () => EMPTY_ROOT.slice(),
  hashLeaf: (entry) => hashWithPrefix(0x00, entry),
  hashChildren(left, right) {
    blocks[0] = 0x01;
    blocks.set(left, 1);
    blocks.set(right, 33);
    return digestBlocks(65);
  },
};

/**
 * Byte/text helpers shared by the note module. Browser-safe: no Node built-ins, no Buffer.
 * Every decoder here is strict and returns `undefined` on anything it does not accept; callers
 * turn that into a NoteError with the right code and field.
 */

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int8Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;

/** RFC 4648 §4 standard base64 with `=` padding. */
export function base64Encode(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64[n >>> 18] + B64[(n >>> 12) & 63] + B64[(n >>> 6) & 63] + B64[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += B64[n >>> 18] + B64[(n >>> 12) & 63] + '==';
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += B64[n >>> 18] + B64[(n >>> 12) & 63] + B64[(n >>> 6) & 63] + '=';
  }
  return out;
}

/**
 * Strict, canonical standard base64: length a multiple of 4, only the standard alphabet, `=` only
 * as final padding, and the unused low bits of the last symbol zero. The last rule is enforced by
 * re-encoding and comparing, so every byte string has exactly one accepted spelling (a signed
 * value cannot be re-spelled without changing bytes that are checked). Empty input decodes to
 * zero bytes; callers that need content check the length.
 */
export function base64Decode(s: string): Uint8Array | undefined {
  if (typeof s !== 'string' || s.length % 4 !== 0) return undefined;
  let pad = 0;
  if (s.endsWith('==')) pad = 2;
  else if (s.endsWith('=')) pad = 1;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    const last = i + 4 === s.length;
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const c = s.charCodeAt(i + j);
      let v: number;
      if (last && j >= 4 - pad) {
        v = 0; // padding position, already known to be '='
      } else {
        v = c < 128 ? B64_INDEX[c] : -1;
        if (v < 0) return undefined;
      }
      n = (n << 6) | v;
    }
    out[o++] = n >>> 16;
    if (o < out.length) out[o++] = (n >>> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return base64Encode(out) === s ? out : undefined;
}

const HEX = '0123456789abcdef';

export function hexEncode(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += HEX[b >>> 4] + HEX[b & 15];
  return s;
}

/** Lowercase hex only (the spelling Go's %08x writes), even length. */
export function hexDecode(s: string): Uint8Array | undefined {
  if (typeof s !== 'string' || s.length % 2 !== 0 || !/^[0-9a-f]*$/.test(s)) return undefined;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const encoder = new TextEncoder();
// fatal: reject invalid UTF-8 (overlongs, surrogates, truncations) instead of inserting U+FFFD.
// ignoreBOM: keep a leading U+FEFF as text, so decoding then re-encoding gives back the same bytes.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function utf8Encode(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Decodes strict UTF-8; undefined if the bytes are not valid UTF-8. */
export function utf8Decode(b: Uint8Array): string | undefined {
  try {
    return decoder.decode(b);
  } catch {
    return undefined;
  }
}

/** A lone UTF-16 surrogate: a JS string that is not valid Unicode and has no UTF-8 encoding. */
const LONE_SURROGATE = /\p{Cs}/u;
/** ASCII control characters other than newline (U+0000–U+0009, U+000B–U+001F). */
const CONTROL_NOT_NEWLINE = /[\u0000-\u0009\u000b-\u001f]/;

/**
 * True if s is valid Unicode with no ASCII control character other than '\n' — the character
 * rule of signed notes (C2SP signed-note: "MUST be valid UTF-8 and MUST NOT contain any ASCII
 * control characters other than newline").
 */
export function isNoteSafe(s: string): boolean {
  return !LONE_SURROGATE.test(s) && !CONTROL_NOT_NEWLINE.test(s);
}

/**
 * Unicode White_Space (U+0009–U+000D, U+0020, U+0085, U+00A0, U+1680, U+2000–U+200A, U+2028,
 * U+2029, U+202F, U+205F, U+3000): what Go's unicode.IsSpace accepts. Not JS `\s`, which adds
 * U+FEFF and misses U+0085.
 */
export const WHITE_SPACE = /\p{White_Space}/u;

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

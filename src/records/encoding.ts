/**
 * Byte encodings used by records: lowercase hex, standard padded base64 and strict UTF-8.
 * Hand-rolled (rather than atob/btoa or Buffer) so that they run unchanged in a browser, work on
 * bytes rather than "binary strings", and so that decoding can insist on the one canonical
 * spelling of every byte string.
 */

const HEX_CODES = new TextEncoder().encode('0123456789abcdef');
const asciiDecoder = new TextDecoder();

/**
 * Lowercase hex, written as one flat string. Appending digit pairs builds a rope of ~26 nodes
 * per 32-byte hash that V8 keeps as it is; the server holds a hex leaf hash per record, and the
 * ropes were 40% of its heap.
 */
export function toHex(bytes: Uint8Array): string {
  const out = new Uint8Array(bytes.length * 2);
  for (let i = 0; i < bytes.length; i++) {
    out[2 * i] = HEX_CODES[bytes[i] >> 4];
    out[2 * i + 1] = HEX_CODES[bytes[i] & 15];
  }
  return asciiDecoder.decode(out);
}

/** Lowercase hex only (the records' canonical spelling); returns undefined for anything else. */
export function fromHex(s: string): Uint8Array | undefined {
  if (s.length % 2 !== 0) return undefined;
  const out = new Uint8Array(s.length / 2);
  return hexInto(s, 0, s.length, out, 0) ? out : undefined;
}

/** Whether s[from, to) is all lowercase hex digits (`to` within `s`). */
export function isLowerHex(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/**
 * Value of a lowercase hex digit by UTF-16 code unit (or byte), else -1. A 64 KiB table: one
 * lookup per digit decodes twice as fast as range checks, and a manifest's items carry 64–80
 * digits each, ten million times over.
 */
const HEX_VALUES = new Int8Array(0x10000).fill(-1);
for (let d = 0; d < 16; d++) HEX_VALUES['0123456789abcdef'.charCodeAt(d)] = d;

/**
 * Decodes `hexLength` lowercase hex digits of `s` from `from` straight into `out` at `at`:
 * false if any is not a lowercase hex digit. No allocation (manifest items run this 10^7 times).
 */
export function hexInto(s: string, from: number, hexLength: number, out: Uint8Array, at: number): boolean {
  if (from + hexLength > s.length) return false;
  for (let i = 0; i < hexLength; i += 2) {
    const high = HEX_VALUES[s.charCodeAt(from + i)];
    const low = HEX_VALUES[s.charCodeAt(from + i + 1)];
    if ((high | low) < 0) return false;
    out[at + (i >> 1)] = (high << 4) | low;
  }
  return true;
}

/** hexInto for hex held as ASCII bytes, text[from, from + hexLength) (a line of an items file). */
export function hexBytesInto(text: Uint8Array, from: number, hexLength: number, out: Uint8Array, at: number): boolean {
  if (from < 0 || from + hexLength > text.length) return false;
  for (let i = 0; i < hexLength; i += 2) {
    const high = HEX_VALUES[text[from + i]];
    const low = HEX_VALUES[text[from + i + 1]];
    if ((high | low) < 0) return false;
    out[at + (i >> 1)] = (high << 4) | low;
  }
  return true;
}

const B64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VALUE = new Int16Array(128).fill(-1);
for (let i = 0; i < B64_ALPHABET.length; i++) B64_VALUE[B64_ALPHABET.charCodeAt(i)] = i;

/** Standard base64 with padding (RFC 4648 §4). */
export function toBase64(bytes: Uint8Array): string {
  let s = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    s += B64_ALPHABET[n >> 18] + B64_ALPHABET[(n >> 12) & 63] + B64_ALPHABET[(n >> 6) & 63] + B64_ALPHABET[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    s += B64_ALPHABET[n >> 18] + B64_ALPHABET[(n >> 12) & 63] + '==';
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    s += B64_ALPHABET[n >> 18] + B64_ALPHABET[(n >> 12) & 63] + B64_ALPHABET[(n >> 6) & 63] + '=';
  }
  return s;
}

function base64CharValue(s: string, i: number): number {
  const code = s.charCodeAt(i);
  return code < 128 ? B64_VALUE[code] : -1;
}

/** How many `=` end `s` (0, 1 or 2 — more is caught when the symbols are decoded). */
function base64Padding(s: string): number {
  const n = s.length;
  if (n === 0 || s.charCodeAt(n - 1) !== 61) return 0;
  return s.charCodeAt(n - 2) === 61 ? 2 : 1;
}

/** The number of bytes `s` decodes to if it is canonical base64, else -1 (checks the length only). */
export function base64DecodedLength(s: string): number {
  if (s.length % 4 !== 0) return -1;
  return (s.length / 4) * 3 - base64Padding(s);
}

/**
 * Decodes standard padded base64, accepting only the canonical spelling: no whitespace, no
 * URL-safe alphabet, correct padding, and zero bits in the unused low bits of the last symbol
 * (otherwise two strings would decode to the same bytes). Returns undefined when not canonical.
 */
export function fromBase64(s: string): Uint8Array | undefined {
  const length = base64DecodedLength(s);
  if (length < 0) return undefined;
  const out = new Uint8Array(length);
  return fromBase64Into(s, out, 0) ? out : undefined;
}

/**
 * fromBase64 straight into `out` from `at` (which must have room for base64DecodedLength(s)
 * bytes): false, with `out` partly written, when `s` is not canonical base64.
 */
export function fromBase64Into(s: string, out: Uint8Array, at: number): boolean {
  const n = s.length;
  if (n % 4 !== 0) return false;
  const padding = base64Padding(s);
  const whole = padding === 0 ? n : n - 4;
  let o = at;
  for (let i = 0; i < whole; i += 4) {
    const a = base64CharValue(s, i);
    const b = base64CharValue(s, i + 1);
    const c = base64CharValue(s, i + 2);
    const d = base64CharValue(s, i + 3);
    if ((a | b | c | d) < 0) return false;
    const x = (a << 18) | (b << 12) | (c << 6) | d;
    out[o] = x >> 16;
    out[o + 1] = (x >> 8) & 255;
    out[o + 2] = x & 255;
    o += 3;
  }
  if (padding === 0) return true;
  return lastQuadInto(base64CharValue(s, n - 4), base64CharValue(s, n - 3), padding === 2 ? 0 : base64CharValue(s, n - 2), padding, out, o);
}

/**
 * The padded last quad, symbols a b [c] (c: 0 with `==`): `xy==` is one byte, `xyz=` two. The
 * last non-padding symbol may carry bits past the end of the data (4 bits with `==`, 2 with `=`);
 * canonical base64 has them zero. False if a symbol is not base64 or those bits are not zero.
 */
function lastQuadInto(a: number, b: number, c: number, padding: number, out: Uint8Array, o: number): boolean {
  if ((a | b | c) < 0) return false;
  out[o] = (a << 2) | (b >> 4);
  if (padding === 2) return (b & 0x0f) === 0;
  if ((c & 0x03) !== 0) return false;
  out[o + 1] = ((b & 0x0f) << 4) | (c >> 2);
  return true;
}

/** Base64 symbol values by byte, -1 for bytes outside the alphabet. */
const B64_BYTE_VALUE = new Int8Array(256).fill(-1);
for (let i = 0; i < B64_ALPHABET.length; i++) B64_BYTE_VALUE[B64_ALPHABET.charCodeAt(i)] = i;

/**
 * fromBase64Into for base64 held as ASCII bytes, bytes[from, to) (the text of a log entry,
 * without decoding it to a string first): the same canonical spelling, the same answer.
 */
export function fromBase64BytesInto(bytes: Uint8Array, from: number, to: number, out: Uint8Array, at: number): boolean {
  const n = to - from;
  if (n < 0 || n % 4 !== 0 || to > bytes.length) return false;
  const padding = n === 0 || bytes[to - 1] !== 61 ? 0 : bytes[to - 2] === 61 ? 2 : 1;
  const whole = padding === 0 ? to : to - 4;
  const T = B64_BYTE_VALUE;
  let o = at;
  for (let i = from; i < whole; i += 4) {
    const a = T[bytes[i]];
    const b = T[bytes[i + 1]];
    const c = T[bytes[i + 2]];
    const d = T[bytes[i + 3]];
    if ((a | b | c | d) < 0) return false;
    const x = (a << 18) | (b << 12) | (c << 6) | d;
    out[o] = x >> 16;
    out[o + 1] = (x >> 8) & 255;
    out[o + 2] = x & 255;
    o += 3;
  }
  if (padding === 0) return true;
  return lastQuadInto(T[bytes[to - 4]], T[bytes[to - 3]], padding === 2 ? 0 : T[bytes[to - 2]], padding, out, o);
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** Strict UTF-8: undefined for ill-formed bytes (and a BOM is kept, so it fails canonical checks). */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

export function encodeUtf8(s: string): Uint8Array {
  return utf8Encoder.encode(s);
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

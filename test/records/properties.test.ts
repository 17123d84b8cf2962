/**
 * Property tests: fast-check generates valid records of every type; signing and parsing round
 * trips byte for byte, and each kind of mutation is rejected with an error naming what was
 * mutated.
 */
import canonicalizeModule from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LedgerError } from '../../src/errors.js';
import {
  MAX_ENTRY_SIZE,
  RECORD_PAYLOAD_TYPE,
  RECORD_TYPES,
  type RecordPayload,
  canonicalEntry,
  encodeEntry,
  fromBase64,
  isKeyRef,
  isRecordTime,
  isWorkId,
  parseRecord,
  preAuthEncoding,
  recordTimeSeconds,
  signRecord,
  toBase64,
  validatePayload,
} from '../../src/records/index.js';
import { canonicalJson } from '../../src/records/canonical.js';
import { fromBase64BytesInto, isLowerHex } from '../../src/records/encoding.js';
import { decodeEnvelope, decodeEnvelopeFast, recordPreAuthEncoding } from '../../src/records/record.js';
import { PAYLOAD_SCHEMAS } from '../../src/records/schema.js';
import { payloadArb, signRaw, signerOf, verify } from './fixtures.js';

const RUNS = 60;
const enc = new TextEncoder();

function rejection(entry: Uint8Array): LedgerError {
  try {
    parseRecord(entry, { verify });
  } catch (e) {
    expect(e).toBeInstanceOf(LedgerError);
    return e as LedgerError;
  }
  throw new Error('mutated entry was accepted');
}

function envelopeOf(entry: Uint8Array): { payloadType: string; payload: string; signatures: [{ keyid: string; sig: string }] } {
  return JSON.parse(new TextDecoder().decode(entry));
}

describe('records: property round trips', () => {
  it('every generated record type occurs, and sign → parse → re-encode is byte-exact', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(payloadArb, (payload) => {
        seen.add(payload.type);
        const entry = signRecord(payload, signerOf(payload.author).signer, { verify });
        const parsed = parseRecord(entry, { verify });
        expect(parsed.payload).toEqual(payload);
        // An independent re-encoding: JSON.stringify of the canonical text must give the same bytes.
        expect(enc.encode(canonicalJson(JSON.parse(new TextDecoder().decode(entry))))).toEqual(entry);
        expect(encodeEntry(parsed.envelope)).toEqual(entry);
        expect(new TextDecoder().decode(fromBase64(parsed.envelope.payload))).toBe(canonicalJson(payload));
      }),
      { numRuns: RUNS * 2 },
    );
    expect([...seen].sort()).toEqual([...RECORD_TYPES].sort());
  });
});

/** Values no record field accepts at any position. */
const badValueArb = fc.constantFrom<unknown>(null, 12345.5, -1, 'x\u0000y', [], {}, true);

describe('records: every mutation is rejected, naming the field', () => {
  it('a payload field replaced by a bad value → payload.<field>', () => {
    fc.assert(
      fc.property(payloadArb, fc.nat(), badValueArb, (payload, pick, bad) => {
        const keys = Object.keys(payload);
        const key = keys[pick % keys.length];
        const mutated = { ...payload, [key]: bad } as Record<string, unknown>;
        // A boolean replaced by the other boolean is still valid: not a mutation to a bad value.
        fc.pre(typeof bad !== typeof (payload as unknown as Record<string, unknown>)[key]);
        const err = rejection(signRaw(mutated, signerOf(payload.author), payload.author));
        // A bad author is caught when matching the signature's keyid; everything else in the payload.
        if (key === 'author') expect(err.field === 'payload.author' || err.field === 'signatures[0].keyid').toBe(true);
        else expect(err.field === `payload.${key}` || String(err.field).startsWith(`payload.${key}.`) || String(err.field).startsWith(`payload.${key}[`)).toBe(true);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('a required field removed, or an unknown field added', () => {
    fc.assert(
      fc.property(payloadArb, fc.constantFrom('type', 'v', 'author', 'time'), fc.stringMatching(/^[a-z]{3,8}$/), (payload, key, extra) => {
        const { [key]: _dropped, ...rest } = payload as unknown as Record<string, unknown>;
        const missing = rejection(signRaw(rest, signerOf(payload.author), payload.author));
        expect(missing.field).toBe(`payload.${key}`);
        fc.pre(!(extra in payload));
        const unknown = rejection(signRaw({ ...payload, [extra]: 1 }, signerOf(payload.author)));
        expect(unknown.code).toBe('unknown-field');
        expect(unknown.field).toBe(`payload.${extra}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('type and version changed', () => {
    fc.assert(
      fc.property(payloadArb, fc.constantFrom('grant', 'Creator', 'training_use', ''), fc.constantFrom(0, 2, '1'), (payload, type, v) => {
        const badType = rejection(signRaw({ ...payload, type }, signerOf(payload.author)));
        expect([badType.code, badType.field]).toEqual(['unknown-type', 'payload.type']);
        expect(rejection(signRaw({ ...payload, v }, signerOf(payload.author))).field).toBe('payload.v');
        // A valid record of another type with this one's fields: something is unknown or missing.
        // (Not a creator record: one may have the common fields alone, as a clock record has.)
        const other = RECORD_TYPES.find((t) => t !== payload.type && t !== 'creator')!;
        expect(rejection(signRaw({ ...payload, type: other }, signerOf(payload.author))).field).toMatch(/^payload\./);
      }),
      { numRuns: RUNS },
    );
  });

  it('a signature bit flipped → signatures[0].sig', () => {
    fc.assert(
      fc.property(payloadArb, fc.nat(64 * 8 - 1), (payload, bit) => {
        const entry = signRecord(payload, signerOf(payload.author).signer, { verify });
        const env = envelopeOf(entry);
        const sig = fromBase64(env.signatures[0].sig)!;
        sig[bit >> 3] ^= 1 << (bit & 7);
        env.signatures[0].sig = toBase64(sig);
        const err = rejection(enc.encode(canonicalJson(env)));
        expect([err.code, err.field]).toEqual(['bad-signature', 'signatures[0].sig']);
      }),
      { numRuns: RUNS },
    );
  });

  it('a payload byte changed after signing → signature no longer verifies', () => {
    fc.assert(
      fc.property(payloadArb, (payload) => {
        const entry = signRecord(payload, signerOf(payload.author).signer, { verify });
        const env = envelopeOf(entry);
        // Re-time the payload (keeps it valid) without re-signing.
        const retimed = { ...payload, time: payload.time === '2050-01-01T00:00:00Z' ? '2050-01-01T00:00:01Z' : '2050-01-01T00:00:00Z' } as RecordPayload;
        env.payload = toBase64(enc.encode(canonicalJson(retimed)));
        const err = rejection(enc.encode(canonicalJson(env)));
        expect(err.field).toBe('signatures[0].sig');
      }),
      { numRuns: RUNS },
    );
  });

  it('non-canonical entry or payload → entry / payload', () => {
    fc.assert(
      fc.property(payloadArb, fc.constantFrom(' ', '\n', '\t'), (payload, ws) => {
        const entry = signRecord(payload, signerOf(payload.author).signer, { verify });
        const text = new TextDecoder().decode(entry);
        const spaced = rejection(enc.encode(text.replace('{', `{${ws}`)));
        expect([spaced.code, spaced.field]).toEqual(['non-canonical', 'entry']);
        // Same payload with a different key order (pretty-printed JSON is not RFC 8785), signed properly.
        const env = envelopeOf(entry);
        const pretty = JSON.stringify(JSON.parse(canonicalJson(payload)), null, 1);
        env.payload = toBase64(enc.encode(pretty));
        const err = rejection(enc.encode(canonicalJson(env)));
        expect([err.code, err.field]).toEqual(['non-canonical', 'payload']);
        env.payload = `${env.payload.slice(0, -1)}!`;
        expect(rejection(enc.encode(canonicalJson(env))).field).toBe('payload');
      }),
      { numRuns: RUNS },
    );
  });

  it('sizes: entries over 65,535 bytes → entry; over-long texts and lists → their field', () => {
    fc.assert(
      fc.property(payloadArb, fc.integer({ min: 1, max: 5000 }), (payload, extra) => {
        const entry = signRecord(payload, signerOf(payload.author).signer, { verify });
        const padded = new Uint8Array(MAX_ENTRY_SIZE + extra);
        padded.set(entry);
        padded.fill(0x20, entry.length);
        expect([rejection(padded).code, rejection(padded).field]).toEqual(['too-large', 'entry']);
      }),
      { numRuns: 20 },
    );
    const base = { type: 'creator', v: 1, time: '2026-01-01T00:00:00Z' };
    const key = signerOf(fc.sample(payloadArb, 1)[0].author);
    expect(rejection(signRaw({ ...base, author: key.ref, name: 'n'.repeat(10_000) }, key)).field).toBe('payload.name');
    expect(rejection(signRaw({ ...base, author: key.ref, name: '' }, key)).field).toBe('payload.name');
  });
});

describe('records: value checks against independent oracles', () => {
  const pad = (n: number, w: number) => String(n).padStart(w, '0');
  it('record times: accepted exactly when Date agrees the calendar instant exists and is in range', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1990, max: 2110 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }), fc.integer({ min: 0, max: 24 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 60 }), (y, mo, d, h, mi, s) => {
        const t = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}Z`;
        const ms = Date.parse(t);
        const exists = !Number.isNaN(ms) && new Date(ms).toISOString() === `${t.slice(0, 19)}.000Z`;
        const expected = exists && y >= 2000 && y < 2100;
        expect(isRecordTime(t)).toBe(expected);
        if (expected) expect(recordTimeSeconds(t)).toBe(ms / 1000);
      }),
      { numRuns: 400 },
    );
  });

  it('base64: decodes exactly what Buffer decodes, and only the canonical spelling', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat(5), (bytes, tweak) => {
        const b64 = Buffer.from(bytes).toString('base64');
        expect(fromBase64(b64)).toEqual(new Uint8Array(bytes));
        // Set unused low bits of the last symbol: Buffer still decodes it, the canonical check must not.
        const padding = b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0;
        fc.pre(padding > 0);
        const i = b64.length - padding - 1;
        const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
        const mutated = b64.slice(0, i) + alphabet[alphabet.indexOf(b64[i]) | (1 + (tweak % (padding === 2 ? 15 : 3)))] + b64.slice(i + 1);
        expect(Buffer.from(mutated, 'base64')).toEqual(Buffer.from(bytes));
        expect(fromBase64(mutated)).toBeUndefined();
      }),
      { numRuns: 200 },
    );
  });

  it('canonicalEntry: the envelope template equals the general RFC 8785 serialiser on any JSON value', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 12 }).chain((s) => fc.oneof(fc.constant(s), fc.string({ unit: 'binary', maxLength: 6 })));
    const envelopeLike = fc.record({
      payload: fc.oneof(text, fc.integer()),
      payloadType: text,
      signatures: fc.oneof(fc.tuple(fc.oneof(fc.record({ keyid: text, sig: text }), fc.record({ sig: text, keyid: text, extra: fc.constant(1) }, { requiredKeys: ['sig', 'keyid'] }))), fc.array(fc.record({ keyid: text, sig: text }), { maxLength: 2 })),
    }, { requiredKeys: ['payload', 'signatures'] });
    fc.assert(
      fc.property(fc.oneof(envelopeLike, fc.jsonValue()), (value) => {
        expect(new TextDecoder().decode(canonicalEntry(value))).toBe(canonicalJson(value));
      }),
      { numRuns: 500 },
    );
  });
});

/** The canonicalize package itself (CommonJS default export; see src/records/canonical.ts). */
type Serialize = (value: unknown) => string | undefined;
const canonicalizeValue = canonicalizeModule as unknown as Serialize | { default: Serialize };
const canonicalize: Serialize = typeof canonicalizeValue === 'function' ? canonicalizeValue : canonicalizeValue.default;

/** canonicalJson as it was: the package, and an error where it has no answer. */
function packageCanonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value has no JSON form');
  return text;
}

/** What f returns, or the message of what it throws: two functions agree when these are equal. */
function outcome(f: () => unknown): unknown {
  try {
    return { value: f() };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

describe('records: fast paths agree with the general ones', () => {
  it('canonicalJson equals the canonicalize package on any JSON value, as built and as parsed from its RFC 8785 text', () => {
    // Objects with integer-like keys (JSON.stringify puts those first), reordered keys and nesting.
    const indexKeyed = fc.dictionary(fc.oneof(fc.constantFrom('0', '1', '2', '10', '01', '-1', '1.5', '4294967295', '4294967294', '__proto__', 'toJSON'), fc.string({ maxLength: 3 })), fc.jsonValue({ maxDepth: 2 }));
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), indexKeyed, fc.array(indexKeyed, { maxLength: 3 })), (value) => {
        const expected = canonicalize(value)!;
        expect(canonicalJson(value)).toBe(expected);
        expect(canonicalJson(JSON.parse(expected))).toBe(expected);
        expect(canonicalJson(JSON.parse(JSON.stringify(value)))).toBe(expected);
      }),
      { numRuns: 1000 },
    );
  });

  it('canonicalJson equals the canonicalize package on every generated record type, and on values that are not plain JSON', () => {
    fc.assert(
      fc.property(payloadArb, (payload) => {
        const expected = canonicalize(payload)!;
        expect(canonicalJson(payload)).toBe(expected);
        expect(canonicalJson(JSON.parse(expected))).toBe(expected);
      }),
      { numRuns: RUNS * 2 },
    );
    const odd: unknown[] = [
      { b: undefined, a: 1 },
      [1, undefined, 2],
      [1, , 2],
      { a: () => 1 },
      { toJSON: () => ({ z: 1, a: 2 }) },
      { a: { toJSON: () => 'x' } },
      Object.defineProperty({ a: 1 }, 'toJSON', { value: () => ({ z: 1, a: 2 }), enumerable: false }),
      Object.defineProperty([1], 'toJSON', { value: () => ({ z: 1, a: 2 }), enumerable: false }),
      { toJSON: 'not a function', a: 1 },
      Object.assign(Object.create(null), { b: 1, a: 2 }),
      Object.assign(Object.create(null), { a: 1, b: 2 }),
      new Date(0),
      { a: new Uint8Array(2) },
      { a: Symbol('s') },
      [Symbol('s')],
      { a: -0, b: 1e21, c: 5e-7 },
      NaN,
      { a: Infinity },
      undefined,
    ];
    for (const value of odd) expect(outcome(() => canonicalJson(value))).toEqual(outcome(() => packageCanonicalJson(value)));
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true, withBoxedValues: true, withSparseArray: true, withDate: true, withTypedArray: true }), (value) => {
        fc.pre(typeof value !== 'bigint');
        expect(outcome(() => canonicalJson(value))).toEqual(outcome(() => packageCanonicalJson(value)));
      }),
      { numRuns: 500 },
    );
  });

  it('compiled payload schemas (z.compile) accept exactly what the schemas accept, with the same output', () => {
    /** Every path to a value inside `v`. */
    const paths = (v: unknown, at: PropertyKey[] = []): PropertyKey[][] => {
      const out: PropertyKey[][] = [at];
      if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...at, i])));
      else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
      return out;
    };
    const replacement = fc.oneof(badValueArb, fc.jsonValue({ maxDepth: 1 }), fc.constantFrom<unknown>('constrained', 'anyone', 'sha256:' + 'a'.repeat(64), 'phash:' + '0'.repeat(16), 'ed25519:' + 'b'.repeat(64), '2026-01-01T00:00:00Z', 0, 1, 2 ** 53, undefined, { index: 1 }, { none: true }));
    fc.assert(
      fc.property(payloadArb, fc.nat(), fc.constantFrom('set', 'delete', 'add'), replacement, (payload, pick, how, value) => {
        const copy = JSON.parse(JSON.stringify(payload)) as Record<string, unknown>;
        const all = paths(copy);
        const path = all[pick % all.length];
        if (path.length > 0) {
          const parent = path.slice(0, -1).reduce<unknown>((o, k) => (o as Record<PropertyKey, unknown>)[k], copy) as Record<PropertyKey, unknown>;
          const key = path[path.length - 1];
          if (how === 'delete' && !Array.isArray(parent)) delete parent[key];
          else if (how === 'add' && !Array.isArray(parent)) parent.extra = value;
          else parent[key] = value;
        }
        const type = copy.type as keyof typeof PAYLOAD_SCHEMAS;
        fc.pre(typeof type === 'string' && Object.hasOwn(PAYLOAD_SCHEMAS, type));
        const runtime = PAYLOAD_SCHEMAS[type].safeParse(copy);
        const compiled = outcome(() => validatePayload(copy));
        expect('value' in (compiled as object)).toBe(runtime.success);
        if (runtime.success) expect((compiled as { value: unknown }).value).toEqual(runtime.data);
      }),
      { numRuns: 1500 },
    );
  });

  it('the envelope fast path answers only where the general path answers, and with the same envelope, PAE and signature', () => {
    const alphabet = 'AB+/=\\"u0{}[],:aé\u2028\ud800 \u0000';
    // Edits anywhere, and edits next to the envelope's punctuation (where the template is cut).
    const edit = fc.record({ near: fc.boolean(), at: fc.nat(), offset: fc.integer({ min: -2, max: 2 }), length: fc.nat(3), insert: fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 3 }) });
    let answered = 0;
    fc.assert(
      fc.property(payloadArb, fc.array(edit, { maxLength: 2 }), (payload, edits) => {
        let text = new TextDecoder().decode(signRecord(payload, signerOf(payload.author).signer, { verify }));
        for (const e of edits) {
          const marks = [...text.matchAll(/["{}[\],:]/g)].map((m) => m.index);
          const at = Math.min(text.length, Math.max(0, e.near && marks.length ? marks[e.at % marks.length] + e.offset : e.at % (text.length + 1)));
          text = text.slice(0, at) + e.insert + text.slice(at + e.length);
        }
        const entry = enc.encode(text);
        const decoded = new TextDecoder('utf-8', { fatal: true }).decode(entry);
        const fast = decodeEnvelopeFast(entry, decoded);
        if (fast === undefined) return;
        answered++;
        const general = decodeEnvelope(decoded);
        expect(fast.envelope).toEqual(general.envelope);
        expect(fast.envelope).toEqual(JSON.parse(text));
        expect(fast.message).toEqual(general.message);
        expect(fast.payloadBytes).toEqual(general.payloadBytes);
        expect(fast.signature).toEqual(fromBase64(general.envelope.signatures[0].sig));
      }),
      { numRuns: 1000 },
    );
    expect(answered).toBeGreaterThan(100);
  });

  it('recordPreAuthEncoding is preAuthEncoding of the decoded payload; base64 from bytes decodes as fromBase64', () => {
    const b64 = fc.oneof(
      fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('base64')),
      fc.string({ unit: fc.constantFrom(...'ABCab09+/=-_ \né'), maxLength: 12 }),
    );
    fc.assert(
      fc.property(b64, fc.nat(3), (s, pad) => {
        const bytes = fromBase64(s);
        const pae = recordPreAuthEncoding(s);
        if (bytes === undefined) expect(pae).toBeUndefined();
        else {
          expect(pae!.message).toEqual(preAuthEncoding(RECORD_PAYLOAD_TYPE, bytes));
          expect(pae!.payloadBytes).toEqual(bytes);
        }
        const source = enc.encode(`${'"'.repeat(pad)}${s}"`);
        const sourceEnd = source.length - 1;
        const out = new Uint8Array(bytes?.length ?? 64);
        const ok = fromBase64BytesInto(source, pad, sourceEnd, out, 0);
        // Bytes and characters differ in number only where a character is not ASCII (never base64).
        if (bytes !== undefined) expect([ok, out]).toEqual([true, bytes]);
        else expect(ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('key references and work identifiers: accepted exactly when the spec patterns match', () => {
    const KEY_REF = /^ed25519:[0-9a-f]{64}$/;
    const WORK_ID = /^(?:(?:sha256|pdq):[0-9a-f]{64}|(?:phash|tcode):[0-9a-f]{16})$/;
    const hexish = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdefABg:\n'), minLength: n - 1, maxLength: n + 1 });
    const prefix = fc.constantFrom('ed25519:', 'ED25519:', 'ed25519', 'sha256:', 'pdq:', 'phash:', 'tcode:', 'sha256', 'md5:', ':', '', 'sha256::');
    const candidate = fc.oneof(fc.tuple(prefix, fc.oneof(hexish(16), hexish(64))).map(([p, h]) => p + h), fc.string({ maxLength: 80 }));
    fc.assert(
      fc.property(candidate, (s) => {
        expect(isKeyRef(s)).toBe(KEY_REF.test(s));
        expect(isWorkId(s)).toBe(WORK_ID.test(s));
        expect(isLowerHex(s, 0, s.length)).toBe(/^[0-9a-f]*$/.test(s));
      }),
      { numRuns: 2000 },
    );
    expect([isKeyRef(undefined), isKeyRef(7), isWorkId(null), isWorkId(['sha256:' + 'a'.repeat(64)])]).toEqual([false, false, false, false]);
  });

  it('record times: any string, accepted exactly as by the spec pattern plus the calendar', () => {
    const SHAPE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
    const oracle = (s: string) => {
      if (!SHAPE.test(s) || s < '2000-01-01T00:00:00Z' || s >= '2100-01-01T00:00:00Z') return undefined;
      const ms = Date.parse(s);
      return !Number.isNaN(ms) && new Date(ms).toISOString() === `${s.slice(0, 19)}.000Z` ? ms / 1000 : undefined;
    };
    const edit = fc.record({ at: fc.nat(20), length: fc.nat(2), insert: fc.string({ unit: fc.constantFrom(...'0129-:TZz /٣'), maxLength: 2 }) });
    fc.assert(
      fc.property(fc.constantFrom('2026-02-28T23:59:59Z', '2000-01-01T00:00:00Z', '2099-12-31T23:59:59Z', '2024-02-29T12:00:00Z'), edit, (base, e) => {
        const s = base.slice(0, e.at) + e.insert + base.slice(e.at + e.length);
        expect(recordTimeSeconds(s)).toBe(oracle(s));
      }),
      { numRuns: 2000 },
    );
  });
});

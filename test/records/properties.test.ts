/**
 * Property tests: fast-check generates valid records of every type; signing and parsing round
 * trips byte for byte, and each kind of mutation is rejected with an error naming what was
 * mutated.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LedgerError } from '../../src/errors.js';
import { MAX_ENTRY_SIZE, RECORD_TYPES, type RecordPayload, canonicalEntry, encodeEntry, fromBase64, isRecordTime, parseRecord, recordTimeSeconds, signRecord, toBase64 } from '../../src/records/index.js';
import { canonicalJson } from '../../src/records/canonical.js';
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
        const other = RECORD_TYPES.find((t) => t !== payload.type)!;
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

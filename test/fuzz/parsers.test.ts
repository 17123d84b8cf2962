/**
 * Fuzzing every parser with fast-check: on any input a parser either answers or throws the
 * project's typed error (LedgerError) — never a TypeError, RangeError or a hang — and no mutated
 * signed object (checkpoint note, record envelope, manifest) is ever accepted as the original.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LedgerError } from '../../src/errors.js';
import { parseTilePath } from '../../src/merkle/index.js';
import {
  generatePrivateKey,
  nobleSigner,
  openCheckpoint,
  openNote,
  parseCheckpoint,
  parseNote,
  parsePrivateKey,
  parseVerifierKey,
  signCheckpoint,
  verifierKeyOf,
} from '../../src/note/index.js';
import { nodeHasher } from '../../src/platform/node-hasher.js';
import {
  checkManifest,
  decodeManifestItem,
  encodeManifestHeader,
  encodeManifestItem,
  manifestTree,
  parseKeyRef,
  parseModelId,
  parseRecord,
  parseWorkId,
  signRecord,
  toHex,
  validatePayload,
} from '../../src/records/index.js';
import { payloadArb, signerOf, verify } from '../records/fixtures.js';

/** Runs f; passes if it returns or throws a LedgerError, fails on any other exception. */
function onlyTypedErrors(f: () => unknown): boolean {
  try {
    f();
    return false;
  } catch (e) {
    if (e instanceof LedgerError) return true;
    throw e;
  }
}

async function onlyTypedErrorsAsync(f: () => Promise<unknown>): Promise<boolean> {
  try {
    await f();
    return false;
  } catch (e) {
    if (e instanceof LedgerError) return true;
    throw e;
  }
}

const bytesArb = fc.uint8Array({ maxLength: 600 });
const textArb = fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }), fc.constantFrom('', '\n', '\n\n', '— ', 'x\n\n— a b\n'));
const runs = { numRuns: 400 };

const key = generatePrivateKey('fuzz.example/log');
const verifier = parseVerifierKey(verifierKeyOf(key));
const note = signCheckpoint({ origin: 'fuzz.example/log', size: 42, rootHash: new Uint8Array(32).fill(7), extensions: [] }, nobleSigner(key));

/** A mutation of a byte string: flip, insert, delete or overwrite at some position. */
const mutationArb = fc.record({
  kind: fc.constantFrom('flip', 'insert', 'delete', 'set'),
  at: fc.nat(),
  byte: fc.integer({ min: 0, max: 255 }),
  bit: fc.integer({ min: 0, max: 7 }),
});

function mutate(bytes: Uint8Array, m: { kind: string; at: number; byte: number; bit: number }): Uint8Array {
  const at = m.at % (bytes.length + (m.kind === 'insert' ? 1 : 0));
  const out = Array.from(bytes);
  if (m.kind === 'flip') out[at] ^= 1 << m.bit;
  else if (m.kind === 'insert') out.splice(at, 0, m.byte);
  else if (m.kind === 'delete') out.splice(at, 1);
  else out[at] = m.byte;
  return Uint8Array.from(out);
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

describe('parsers throw only typed errors on arbitrary input', () => {
  it('signed notes and checkpoints', () => {
    fc.assert(
      fc.property(fc.oneof(textArb, bytesArb), (input) => {
        onlyTypedErrors(() => parseNote(input));
        onlyTypedErrors(() => openNote(input, [verifier]));
        onlyTypedErrors(() => openCheckpoint(input, verifier));
        if (typeof input === 'string') onlyTypedErrors(() => parseCheckpoint(input));
      }),
      runs,
    );
  });

  it('verifier keys, private keys and tile paths', () => {
    fc.assert(
      fc.property(textArb, (s) => {
        onlyTypedErrors(() => parseVerifierKey(s));
        onlyTypedErrors(() => parsePrivateKey(s));
        onlyTypedErrors(() => parseTilePath(s));
        onlyTypedErrors(() => parseTilePath(`tile/${s}`));
        onlyTypedErrors(() => parseTilePath(`tile/entries/${s}`));
      }),
      runs,
    );
  });

  it('key, work and model identifiers', () => {
    fc.assert(
      fc.property(textArb, (s) => {
        onlyTypedErrors(() => parseKeyRef(s));
        onlyTypedErrors(() => parseKeyRef(`ed25519:${s}`));
        onlyTypedErrors(() => parseWorkId(s));
        onlyTypedErrors(() => parseWorkId(`sha256:${s}`));
        onlyTypedErrors(() => parseModelId(s));
      }),
      runs,
    );
  });

  it('record entries and payloads', () => {
    fc.assert(
      fc.property(fc.oneof(bytesArb, fc.json().map((j) => new TextEncoder().encode(j))), (entry) => {
        onlyTypedErrors(() => parseRecord(entry, { verify }));
      }),
      runs,
    );
    fc.assert(fc.property(fc.jsonValue(), (value) => void onlyTypedErrors(() => validatePayload(value))), runs);
  });

  it('manifests and manifest items', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(bytesArb, { maxLength: 4 }), async (chunks) => {
        await onlyTypedErrorsAsync(() => checkManifest(chunks));
      }),
      { numRuns: 200 },
    );
    fc.assert(fc.property(bytesArb, (b) => void onlyTypedErrors(() => decodeManifestItem(b))), runs);
  });
});

describe('mutated signed objects are never accepted', () => {
  it('a checkpoint note with any byte changed is rejected', () => {
    const original = new TextEncoder().encode(note);
    fc.assert(
      fc.property(mutationArb, (m) => {
        const mutated = mutate(original, m);
        if (sameBytes(mutated, original)) return;
        // Strict: not even a re-encoding of the same signature (e.g. non-zero base64 pad bits) passes.
        expect(onlyTypedErrors(() => openCheckpoint(mutated, verifier))).toBe(true);
      }),
      { numRuns: 600 },
    );
  });

  it('a record envelope with any byte changed is rejected', () => {
    fc.assert(
      fc.property(payloadArb, mutationArb, (payload, m) => {
        const entry = signRecord(payload, signerOf(payload.author).signer, { verify });
        const mutated = mutate(entry, m);
        if (sameBytes(mutated, entry)) return;
        expect(onlyTypedErrors(() => parseRecord(mutated, { verify }))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('a manifest with any byte changed fails its committed root and count', async () => {
    const items = Array.from({ length: 20 }, (_, i) =>
      encodeManifestItem({ work: [`sha256:${toHex(nodeHasher.hashLeaf(Uint8Array.of(i)))}`], consent: i % 3 === 0 ? { none: true } : { index: i } } as never),
    );
    const manifest = Uint8Array.from([...encodeManifestHeader(items.length), ...items.flatMap((i) => Array.from(i))]);
    const root = manifestTree(items).root();
    const expected = { root, count: items.length };
    await expect(checkManifest([manifest], expected)).resolves.toBeDefined();
    await fc.assert(
      fc.asyncProperty(mutationArb, async (m) => {
        const mutated = mutate(manifest, m);
        if (sameBytes(mutated, manifest)) return;
        expect(await onlyTypedErrorsAsync(() => checkManifest([mutated], expected))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});


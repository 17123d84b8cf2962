import { describe, expect, it } from 'vitest';
import { nobleEd25519Verify, nobleSigner } from '../../src/note/index.js';
import {
  MAX_ENTRY_SIZE,
  RecordError,
  encodeEntry,
  formatKeyRef,
  formatModelId,
  formatWorkId,
  parseKeyRef,
  parseModelId,
  parseRecord,
  parseWorkId,
  preAuthEncoding,
  signKeyRotation,
  signRecord,
  toBase64,
  workIdOfBytes,
  type RecordPayload,
} from '../../src/records/index.js';
import { canonicalJson } from '../../src/records/canonical.js';
import { alice, bob, builder1, carol, creator, grant, item, lineage, retirement, revocation, rotation, sha256Id, phashId, signRaw, use, verify } from './fixtures.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The RecordError a parse throws (fails the test if it does not throw one). */
function rejection(entry: Uint8Array): RecordError {
  try {
    parseRecord(entry, { verify });
  } catch (e) {
    expect(e).toBeInstanceOf(RecordError);
    return e as RecordError;
  }
  throw new Error('expected parseRecord to reject the entry');
}

function expectRejected(entry: Uint8Array, field: string, code?: string): RecordError {
  const err = rejection(entry);
  expect(err.field).toBe(field);
  expect(err.message.startsWith(`${field}: `)).toBe(true);
  if (code) expect(err.code).toBe(code);
  return err;
}

/** The entry's JSON text edited by `edit` (no re-signing). */
function editEntry(entry: Uint8Array, edit: (text: string) => string): Uint8Array {
  return enc.encode(edit(dec.decode(entry)));
}

const EXAMPLES: Record<string, RecordPayload> = {
  creator: creator(alice, { claims: { website: 'https://alice.example', profiles: ['https://social.example/@alice'], emailSha256: 'a'.repeat(64) } }),
  rotation: rotation(alice, bob),
  grant: grant(alice, [[sha256Id('w1'), phashId('w1')], [sha256Id('w2')]], {
    uses: { ai_generative_training: { use: 'constrained', constraint_info: 'only for non-photorealistic styles' }, ai_training: { use: 'allowed' }, ai_inference: { use: 'notAllowed' }, data_mining: { use: 'allowed' } },
    licensees: [builder1.ref],
    validUntil: '2030-01-01T00:00:00Z',
    retireBy: '2032-01-01T00:00:00Z',
    compensation: { amount: '0.05', currency: 'EUR', basis: 'per-use', payee: 'IBAN DE00 0000', text: 'paid quarterly' },
    supersedes: { leafHash: 'b'.repeat(64) },
  }),
  revocation: revocation(alice, { index: 7 }, '2026-02-01T00:00:00Z'),
  use: use(builder1, 'painter@1.0', [item([sha256Id('w1'), phashId('w1')], { index: 7 }), item(sha256Id('w9'), { none: true })], { model: { name: 'painter', version: '1.0', weightsDigest: sha256Id('weights') } }),
  manifestUse: { ...use(builder1, 'painter@2.0', []), items: undefined, manifest: { root: 'c'.repeat(64), count: 10_000_000 } } as RecordPayload,
  lineage: lineage(builder1, 'painter-mini@1.0', { builder: builder1, model: 'painter@1.0' }, 'distillation'),
  retirement: retirement(builder1, 'painter@1.0', '2031-01-01T00:00:00Z'),
};

describe('records: round trips', () => {
  for (const [name, payload] of Object.entries(EXAMPLES)) {
    it(`${name}: sign → parse gives the same payload, and re-encoding gives the same bytes`, () => {
      const signer = payload.author === alice.ref ? alice : payload.author === bob.ref ? bob : builder1;
      const entry = signRecord(JSON.parse(JSON.stringify(payload)), signer.signer, { verify });
      const parsed = parseRecord(entry, { verify });
      expect(parsed.payload).toEqual(JSON.parse(JSON.stringify(payload)));
      expect(parsed.author).toBe(payload.author);
      expect(encodeEntry(parsed.envelope)).toEqual(entry);
      expect(parsed.payloadBytes).toEqual(enc.encode(canonicalJson(parsed.payload)));
    });
  }

  it('the browser path (noble sign and verify) produces and accepts the same bytes as node:crypto', () => {
    const payload = EXAMPLES.grant;
    const viaNode = signRecord(payload, alice.signer, { verify });
    const viaNoble = signRecord(payload, nobleSigner(alice.key));
    expect(viaNoble).toEqual(viaNode); // Ed25519 is deterministic
    expect(parseRecord(viaNoble).payload).toEqual(payload);
    expect(parseRecord(viaNoble, { verify: nobleEd25519Verify }).author).toBe(alice.ref);
  });

  it('the entry is the RFC 8785 envelope with the DSSE payload type and a signature over the PAE', () => {
    const entry = signRecord(EXAMPLES.revocation, alice.signer, { verify });
    const envelope = JSON.parse(dec.decode(entry));
    expect(Object.keys(envelope)).toEqual(['payload', 'payloadType', 'signatures']);
    expect(envelope.payloadType).toBe('application/vnd.provenance-ledger.record+json');
    expect(envelope.signatures).toHaveLength(1);
    expect(envelope.signatures[0].keyid).toBe(alice.ref);
    const payloadBytes = Buffer.from(envelope.payload, 'base64');
    const pae = Buffer.concat([Buffer.from(`DSSEv1 45 application/vnd.provenance-ledger.record+json ${payloadBytes.length} `), payloadBytes]);
    expect(verify(alice.key.publicKey, pae, Buffer.from(envelope.signatures[0].sig, 'base64'))).toBe(true);
  });
});

describe('records: building blocks against independent vectors', () => {
  it('PAE matches the DSSE specification example', () => {
    // github.com/secure-systems-lab/dsse protocol.md: PAE("http://example.com/HelloWorld", "hello world").
    expect(dec.decode(preAuthEncoding('http://example.com/HelloWorld', enc.encode('hello world')))).toBe('DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  });

  it('canonical JSON matches RFC 8785 examples (key order by UTF-16 code units, ES number form, minimal escapes)', () => {
    // RFC 8785 §3.2.3 sorting example and §3.2.2.3 number serialisation.
    const sorting = JSON.parse('{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control","\\u00f6":"Latin Small Letter O With Diaeresis"}');
    expect(canonicalJson(sorting)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
    expect(canonicalJson({ numbers: [333333333.33333329, 1e30, 4.5, 0.002, 1e-27], literals: [null, true, false] })).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27]}',
    );
    expect(canonicalJson({ string: '\u20ac$\u000f\nA\'B"\\\\"/' })).toBe('{"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}');
  });

  it('key references, work ids and model ids round trip and reject other spellings', () => {
    expect(parseKeyRef(formatKeyRef(alice.key.publicKey))).toEqual(alice.key.publicKey);
    expect(() => parseKeyRef(alice.ref.toUpperCase())).toThrow(/must be ed25519:<64 lowercase hex>/);
    expect(() => formatKeyRef(new Uint8Array(31))).toThrow(RecordError);
    expect(workIdOfBytes(enc.encode('abc'))).toBe('sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const { scheme, digest } = parseWorkId('phash:00ff00ff00ff00ff');
    expect(formatWorkId(scheme, digest)).toBe('phash:00ff00ff00ff00ff');
    for (const bad of ['phash:00FF00FF00FF00FF', 'phash:00ff', 'md5:00', 'sha256:' + 'a'.repeat(63), 'pdq:' + 'a'.repeat(16)]) {
      expect(() => parseWorkId(bad), bad).toThrow(/work identifier/);
    }
    const model = { builder: builder1.ref, name: 'painter', version: '1.0+rc1' };
    expect(parseModelId(formatModelId(model))).toEqual(model);
    expect(() => parseModelId(`${builder1.ref}/painter`)).toThrow(RecordError);
  });
});

describe('records: rejections name the field', () => {
  const good = () => signRecord(EXAMPLES.grant, alice.signer, { verify });

  it('malformed JSON, invalid UTF-8 and oversize entries', () => {
    expectRejected(enc.encode('{"payload":'), 'entry', 'malformed-json');
    expectRejected(Uint8Array.from([0x7b, 0xff, 0x7d]), 'entry', 'bad-utf8');
    expectRejected(new Uint8Array(MAX_ENTRY_SIZE + 1).fill(0x20), 'entry', 'too-large');
    expectRejected(enc.encode('[]'), 'entry', 'bad-field');
  });

  it('oversize records cannot be signed either', () => {
    const works = Array.from({ length: 1000 }, (_, i) => [sha256Id(`w${i}`), phashId(`w${i}`)]);
    expect(() => signRecord(grant(alice, works), alice.signer, { verify })).toThrow(/entry: would be \d+ bytes; a log entry is at most 65535/);
  });

  it('non-canonical encodings of a valid record: whitespace, key order, escapes, number forms, duplicate keys', () => {
    const entry = good();
    expectRejected(editEntry(entry, (t) => t.replace('{"payload"', '{ "payload"')), 'entry', 'non-canonical');
    expectRejected(editEntry(entry, (t) => `${t}\n`), 'entry', 'non-canonical');
    const envelope = JSON.parse(dec.decode(entry));
    const reordered = `{"payloadType":${JSON.stringify(envelope.payloadType)},"payload":${JSON.stringify(envelope.payload)},"signatures":${JSON.stringify(envelope.signatures)}}`;
    expectRejected(enc.encode(reordered), 'entry', 'non-canonical');
    expectRejected(editEntry(entry, (t) => t.replace('"payloadType"', '"payload\\u0054ype"')), 'entry', 'non-canonical');
    expectRejected(editEntry(entry, (t) => t.replace('{"payload"', '{"payload":"x","payload"')), 'entry', 'non-canonical');
    // Inside the payload: a valid payload whose JSON text is not canonical, correctly signed.
    const payloadText = canonicalJson(EXAMPLES.grant).replace('"v":1', '"v":1.0');
    const sig = alice.signer.sign(preAuthEncoding('application/vnd.provenance-ledger.record+json', enc.encode(payloadText)));
    const nonCanonicalPayload = encodeEntry({ payloadType: 'application/vnd.provenance-ledger.record+json', payload: toBase64(enc.encode(payloadText)), signatures: [{ keyid: alice.ref, sig: toBase64(sig) }] });
    expectRejected(nonCanonicalPayload, 'payload', 'non-canonical');
  });

  it('envelope shape: payload type, signature count, unknown envelope fields, base64', () => {
    const entry = good();
    const envelope = JSON.parse(dec.decode(entry));
    const withEnvelope = (e: unknown) => enc.encode(canonicalJson(e));
    expectRejected(withEnvelope({ ...envelope, payloadType: 'application/json' }), 'payloadType');
    expectRejected(withEnvelope({ ...envelope, signatures: [] }), 'signatures');
    expectRejected(withEnvelope({ ...envelope, signatures: [envelope.signatures[0], envelope.signatures[0]] }), 'signatures');
    expectRejected(withEnvelope({ ...envelope, extra: 1 }), 'extra', 'unknown-field');
    expectRejected(withEnvelope({ ...envelope, signatures: [{ ...envelope.signatures[0], cert: 'x' }] }), 'signatures[0].cert', 'unknown-field');
    expectRejected(withEnvelope({ ...envelope, payload: envelope.payload.replace(/=*$/, '') + '!' }), 'payload', 'bad-base64');
    expectRejected(withEnvelope({ ...envelope, payload: envelope.payload.replaceAll('+', '-').replaceAll('/', '_') + (envelope.payload.includes('+') || envelope.payload.includes('/') ? '' : '-') }), 'payload', 'bad-base64');
    // A signature whose unused low bits are set decodes to the same bytes but is another spelling.
    const sig: string = envelope.signatures[0].sig;
    const last = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.indexOf(sig[85]);
    const respelled = sig.slice(0, 85) + 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'[last | 1] + '==';
    expectRejected(withEnvelope({ ...envelope, signatures: [{ ...envelope.signatures[0], sig: respelled }] }), 'signatures[0].sig', 'bad-base64');
    expectRejected(withEnvelope({ ...envelope, signatures: [{ ...envelope.signatures[0], sig: toBase64(new Uint8Array(63)) }] }), 'signatures[0].sig', 'bad-signature');
  });

  it('bad signatures: tampered, by another key, keyid not the author', () => {
    const envelope = JSON.parse(dec.decode(good()));
    const sig = Buffer.from(envelope.signatures[0].sig, 'base64');
    sig[10] ^= 1;
    expectRejected(enc.encode(canonicalJson({ ...envelope, signatures: [{ keyid: alice.ref, sig: sig.toString('base64') }] })), 'signatures[0].sig', 'bad-signature');
    // Bob signs a payload that names Alice as author.
    expectRejected(signRaw(EXAMPLES.grant, bob, alice.ref), 'signatures[0].sig', 'bad-signature');
    expectRejected(signRaw(EXAMPLES.grant, bob, bob.ref), 'signatures[0].keyid', 'bad-signature');
    expect(() => signRecord(EXAMPLES.grant, bob.signer, { verify })).toThrow(/payload.author: the signer's key .* is not the author/);
  });

  it('a key rotation needs the old key to endorse the new one', () => {
    // Carol signs "alice rotates to bob": the statement is right, the endorsing key is not Alice's.
    const forged = { ...rotation(alice, bob), rotation: signKeyRotation(carol.signer, alice.ref, bob.ref) };
    expectRejected(signRaw(forged, bob), 'payload.rotation.sig', 'bad-signature');
    expectRejected(signRaw({ ...rotation(alice, bob), rotation: { from: bob.ref, sig: rotation(alice, bob).rotation!.sig } }, bob), 'payload.rotation.from');
  });

  it('unknown types, versions and fields', () => {
    expectRejected(signRaw({ ...EXAMPLES.grant, type: 'consent-grant-v2' }, alice), 'payload.type', 'unknown-type');
    expectRejected(signRaw({ ...EXAMPLES.grant, type: undefined }, alice), 'payload.type', 'missing-field');
    expectRejected(signRaw({ ...EXAMPLES.grant, v: 2 }, alice), 'payload.v');
    expectRejected(signRaw({ ...EXAMPLES.grant, note: 'hi' }, alice), 'payload.note', 'unknown-field');
    expectRejected(signRaw({ ...EXAMPLES.grant, uses: { ...(EXAMPLES.grant as { uses: object }).uses, ai_everything: { use: 'allowed' } } }, alice), 'payload.uses.ai_everything', 'unknown-field');
    expectRejected(signRaw({ ...EXAMPLES.grant, commercial: undefined }, alice), 'payload.commercial', 'missing-field');
  });

  it('bad identifiers: work ids, keys, hashes, consent references', () => {
    const g = EXAMPLES.grant as { works: string[][] };
    expectRejected(signRaw({ ...EXAMPLES.grant, works: [[g.works[0][0].toUpperCase().replace('SHA256', 'sha256')]] }, alice), 'payload.works[0][0]', 'bad-work-id');
    expectRejected(signRaw({ ...EXAMPLES.grant, works: [[phashId('x')]] }, alice), 'payload.works[0]', 'bad-work-id');
    expectRejected(signRaw({ ...EXAMPLES.grant, works: [[sha256Id('a'), sha256Id('b')]] }, alice), 'payload.works[0][1]', 'bad-work-id');
    expectRejected(signRaw({ ...EXAMPLES.grant, works: [[sha256Id('a')], [sha256Id('a')]] }, alice), 'payload.works[1][0]', 'bad-work-id');
    expectRejected(signRaw({ ...EXAMPLES.grant, licensees: ['ed25519:1234'] }, alice), 'payload.licensees[0]', 'bad-key');
    expectRejected(signRaw({ ...EXAMPLES.grant, licensees: 'everyone' }, alice), 'payload.licensees');
    expectRejected(signRaw({ ...EXAMPLES.use, items: [{ work: [sha256Id('a')], consent: { index: -1 } }] }, builder1), 'payload.items[0].consent.index');
    expectRejected(signRaw({ ...EXAMPLES.use, items: [{ work: [sha256Id('a')], consent: { none: false } }] }, builder1), 'payload.items[0].consent');
    expectRejected(signRaw({ ...EXAMPLES.use, items: [{ work: [sha256Id('a')], consent: { index: 1, none: true } }] }, builder1), 'payload.items[0].consent');
    expectRejected(signRaw({ ...EXAMPLES.use, model: { name: 'a/b', version: '1' } }, builder1), 'payload.model.name');
    expectRejected(signRaw({ ...EXAMPLES.use, items: Array.from({ length: 257 }, () => item(sha256Id('a'), { none: true })) }, builder1), 'payload.items');
    expectRejected(signRaw({ ...EXAMPLES.use, manifest: { root: 'c'.repeat(64), count: 5 } }, builder1), 'payload.manifest');
    const authorless = { ...EXAMPLES.grant, author: 'ed25519:' + 'A'.repeat(64) };
    expectRejected(signRaw(authorless, alice, alice.ref), 'payload.author', 'bad-key');
  });

  it('times out of range or not in the one accepted spelling', () => {
    for (const time of ['1999-12-31T23:59:59Z', '2100-01-01T00:00:00Z', '2026-02-30T00:00:00Z', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00+00:00', '2026-01-01 00:00:00Z', '2026-01-01T24:00:00Z']) {
      const err = expectRejected(signRaw({ ...EXAMPLES.grant, time }, alice), 'payload.time', 'bad-time');
      expect(err.message).toContain(JSON.stringify(time));
    }
    expectRejected(signRaw({ ...EXAMPLES.grant, validUntil: '2024-01-01T00:00:00Z' }, alice), 'payload.validUntil', 'bad-time');
    expectRejected(signRaw({ ...EXAMPLES.grant, retireBy: '2024-01-01T00:00:00Z' }, alice), 'payload.retireBy', 'bad-time');
  });

  it('text fields refuse control characters and lone surrogates', () => {
    expectRejected(signRaw({ ...EXAMPLES.creator, name: 'a\u0000b' }, alice), 'payload.name');
    expectRejected(signRaw({ ...EXAMPLES.creator, name: 'a\ud800b' }, alice), 'payload.name');
    expectRejected(signRaw({ ...EXAMPLES.creator, name: '' }, alice), 'payload.name');
    expectRejected(signRaw({ ...EXAMPLES.creator, claims: {} }, alice), 'payload.claims');
    expectRejected(signRaw({ ...EXAMPLES.creator, claims: { website: 'javascript:alert(1)' } }, alice), 'payload.claims.website');
  });

  it('constrained uses need their constraint text, and only they may have one', () => {
    const uses = (EXAMPLES.grant as { uses: Record<string, unknown> }).uses;
    expectRejected(signRaw({ ...EXAMPLES.grant, uses: { ...uses, data_mining: { use: 'constrained' } } }, alice), 'payload.uses.data_mining.constraint_info');
    expectRejected(signRaw({ ...EXAMPLES.grant, uses: { ...uses, data_mining: { use: 'allowed', constraint_info: 'x' } } }, alice), 'payload.uses.data_mining.constraint_info');
    expectRejected(signRaw({ ...EXAMPLES.grant, uses: { ...uses, data_mining: { use: 'maybe' } } }, alice), 'payload.uses.data_mining.use');
  });

  it('signRecord validates before signing', () => {
    expect(() => signRecord({ ...EXAMPLES.grant, works: [] } as RecordPayload, alice.signer, { verify })).toThrow(/^payload\.works: must name at least one work/);
  });
});

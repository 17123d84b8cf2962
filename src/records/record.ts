/**
 * Bytes ⇄ records. `parseRecord` is the one gate every log entry passes (server admission,
 * auditors replaying the log, the browser checking a proof bundle); `signRecord` produces entries
 * that pass it.
 */
import { nobleEd25519Verify, type Ed25519Verify, type Signer } from '../note/index.js';
import { canonicalJson, canonicalJsonBytes } from './canonical.js';
import { base64DecodedLength, decodeUtf8, encodeUtf8, fromBase64, fromBase64BytesInto, fromBase64Into, toBase64 } from './encoding.js';
import { ED25519_SIGNATURE_SIZE, MAX_ENTRY_SIZE, RECORD_PAYLOAD_TYPE, encodeEntry, envelopeSchema, envelopeText, preAuthEncoding, type Envelope } from './envelope.js';
import { RecordError } from './errors.js';
import { MAX_JSON_DEPTH, jsonDeeperThan } from './json-depth.js';
import { isKeyRef, parseKeyRef, type KeyRef } from './keys.js';
import type { RecordPayload } from './schema.js';
import { parseWith, validatePayload } from './validate.js';

export interface ParsedRecord<P extends RecordPayload = RecordPayload> {
  envelope: Envelope;
  payload: P;
  /** The log entry: RFC 8785 bytes of the envelope. */
  entryBytes: Uint8Array;
  /** The signed payload bytes: RFC 8785 bytes of `payload`. */
  payloadBytes: Uint8Array;
  author: KeyRef;
}

export interface ParseOptions {
  /** Ed25519 verification; default @noble/ed25519 (browser). The server passes node:crypto's. */
  verify?: Ed25519Verify;
}

const KEY_ROTATION_TYPE = 'application/vnd.provenance-ledger.key-rotation';

/**
 * What the old key signs to endorse a new one. A DSSE PAE with its own payload type, so a
 * rotation signature can never be replayed as a record signature or the other way round.
 */
export function keyRotationMessage(from: KeyRef, to: KeyRef): Uint8Array {
  return preAuthEncoding(KEY_ROTATION_TYPE, encodeUtf8(`from ${from}\nto ${to}\n`));
}

/** The `rotation` member of a creator record for `to`, signed by the old key's signer. */
export function signKeyRotation(oldKey: Signer, from: KeyRef, to: KeyRef): { from: KeyRef; sig: string } {
  return { from, sig: toBase64(oldKey.sign(keyRotationMessage(from, to))) };
}

/** Refuses JSON nested deeper than MAX_JSON_DEPTH before anything recursive walks it. */
function checkJsonDepth(text: string, field: string): void {
  if (jsonDeeperThan(text, MAX_JSON_DEPTH)) throw new RecordError('bad-json', `has nesting deeper than ${MAX_JSON_DEPTH}`, field);
}

/** Parses JSON text that must be exactly its own RFC 8785 form. */
function parseCanonicalJson(bytes: Uint8Array, field: string): unknown {
  const text = decodeUtf8(bytes);
  if (text === undefined) throw new RecordError('bad-utf8', 'is not valid UTF-8', field);
  checkJsonDepth(text, field);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new RecordError('malformed-json', `is not JSON (${(e as Error).message})`, field);
  }
  const canonical = canonicalJson(value);
  if (canonical !== text) {
    throw new RecordError('non-canonical', `is not in RFC 8785 canonical form (first difference at character ${firstDifference(canonical, text)})`, field);
  }
  return value;
}

/**
 * The envelope, checked to be in RFC 8785 form. Once its shape is known, its canonical text is
 * a fixed template (envelopeText); a shape error on a non-canonical entry is reported as the
 * shape error. `text` is the entry decoded as UTF-8 (undefined if it is not UTF-8).
 */
function parseEnvelope(text: string | undefined): Envelope {
  if (text === undefined) throw new RecordError('bad-utf8', 'is not valid UTF-8', 'entry');
  checkJsonDepth(text, 'entry');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new RecordError('malformed-json', `is not JSON (${(e as Error).message})`, 'entry');
  }
  const envelope = parseWith(envelopeSchema, value, '') as Envelope;
  const canonical = envelopeText(envelope)!;
  if (canonical !== text) {
    throw new RecordError('non-canonical', `is not in RFC 8785 canonical form (first difference at character ${firstDifference(canonical, text)})`, 'entry');
  }
  return envelope;
}

// envelopeText of an envelope, cut where its three variable strings go.
const ENVELOPE_HEAD = '{"payload":"';
const ENVELOPE_KEYID = `","payloadType":${JSON.stringify(RECORD_PAYLOAD_TYPE)},"signatures":[{"keyid":"`;
const ENVELOPE_SIG = '","sig":"';
const ENVELOPE_TAIL = '"}]}';

/** What decodeRecord needs from the envelope: the envelope, the PAE message and the signature. */
export interface DecodedEnvelope {
  envelope: Envelope;
  /** PAE(record type, payload bytes), the payload bytes decoded straight into its tail. */
  message: Uint8Array;
  payloadBytes: Uint8Array;
  /** The decoded signature, when already checked to be one (the general path decodes it later). */
  signature?: Uint8Array;
}

/**
 * The envelope of an entry written exactly as signRecord writes one — the template of
 * envelopeText filled with a base64 payload, a key reference and a base64 signature — without
 * JSON.parse or re-serialising it; undefined for anything else, which then takes the general
 * path (parseEnvelope and the checks after it) and gets its error from there. When it answers,
 * the general path would have answered the same: strings of the base64 alphabet and key
 * references need no JSON escapes, so the text is then valid JSON whose parse is this envelope,
 * the envelope schema accepts it (checked), and the text is its RFC 8785 form.
 */
export function decodeEnvelopeFast(entry: Uint8Array, text: string): DecodedEnvelope | undefined {
  if (!text.startsWith(ENVELOPE_HEAD)) return undefined;
  const payloadEnd = text.indexOf('"', ENVELOPE_HEAD.length);
  if (payloadEnd < 0 || !text.startsWith(ENVELOPE_KEYID, payloadEnd)) return undefined;
  const keyidStart = payloadEnd + ENVELOPE_KEYID.length;
  const keyidEnd = text.indexOf('"', keyidStart);
  if (keyidEnd < 0 || !text.startsWith(ENVELOPE_SIG, keyidEnd)) return undefined;
  const sigStart = keyidEnd + ENVELOPE_SIG.length;
  const sigEnd = text.length - ENVELOPE_TAIL.length;
  if (sigEnd < sigStart || text.indexOf('"', sigStart) !== sigEnd || !text.endsWith(ENVELOPE_TAIL)) return undefined;
  const keyid = text.slice(keyidStart, keyidEnd);
  if (!isKeyRef(keyid)) return undefined;
  const sig = text.slice(sigStart, sigEnd);
  const signature = fromBase64(sig);
  if (signature === undefined || signature.length !== ED25519_SIGNATURE_SIZE) return undefined;
  const payload = text.slice(ENVELOPE_HEAD.length, payloadEnd);
  const length = base64DecodedLength(payload);
  if (length < 0) return undefined;
  const { message, head } = preAuthEncodingBuffer(length);
  // Decoded from the entry's bytes: everything before the payload is ASCII, so its characters
  // are bytes [ENVELOPE_HEAD.length, payloadEnd) — and any other character is a byte ≥ 0x80
  // there, which no base64 symbol is.
  if (!fromBase64BytesInto(entry, ENVELOPE_HEAD.length, payloadEnd, message, head)) return undefined;
  const envelope = parseWith(envelopeSchema, { payload, payloadType: RECORD_PAYLOAD_TYPE, signatures: [{ keyid, sig }] }, '') as Envelope;
  return { envelope, message, payloadBytes: message.subarray(head), signature };
}

/**
 * The general path: every check in the order spec/records.md §3 gives, each with its error.
 * (Exported, like decodeEnvelopeFast, for the test that the two agree; not part of index.ts.)
 */
export function decodeEnvelope(text: string | undefined): DecodedEnvelope {
  const envelope = parseEnvelope(text);
  const pae = recordPreAuthEncoding(envelope.payload);
  if (pae === undefined) throw new RecordError('bad-base64', 'must be canonical standard base64 (padded, no whitespace)', 'payload');
  return { envelope, ...pae };
}

/** `DSSEv1 45 application/vnd.provenance-ledger.record+json `: the PAE up to the body length. */
const PAE_PREFIX = encodeUtf8(`DSSEv1 ${encodeUtf8(RECORD_PAYLOAD_TYPE).length} ${RECORD_PAYLOAD_TYPE} `);

/**
 * A PAE for a record payload of `length` bytes: the head written, the body (from `head` on)
 * left for the caller to fill.
 */
function preAuthEncodingBuffer(length: number): { message: Uint8Array; head: number } {
  const digits = String(length);
  const head = PAE_PREFIX.length + digits.length + 1;
  const message = new Uint8Array(head + length);
  message.set(PAE_PREFIX);
  for (let i = 0; i < digits.length; i++) message[PAE_PREFIX.length + i] = digits.charCodeAt(i);
  message[head - 1] = 0x20;
  return { message, head };
}

/**
 * preAuthEncoding(RECORD_PAYLOAD_TYPE, fromBase64(payload)) in one buffer, the base64 decoded
 * straight into it (payloadBytes is that tail); undefined if `payload` is not canonical base64.
 */
export function recordPreAuthEncoding(payload: string): { message: Uint8Array; payloadBytes: Uint8Array } | undefined {
  const length = base64DecodedLength(payload);
  if (length < 0) return undefined;
  const { message, head } = preAuthEncodingBuffer(length);
  if (!fromBase64Into(payload, message, head)) return undefined;
  return { message, payloadBytes: message.subarray(head) };
}

function firstDifference(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

function safeVerify(verify: Ed25519Verify, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verify(publicKey, message, signature);
  } catch {
    // Some verifiers throw on malformed points instead of answering false.
    return false;
  }
}

function decodeSignature(sig: string, field: string): Uint8Array {
  const bytes = fromBase64(sig);
  if (bytes === undefined) throw new RecordError('bad-base64', 'must be canonical standard base64 (padded, no whitespace)', field);
  if (bytes.length !== ED25519_SIGNATURE_SIZE) throw new RecordError('bad-signature', `must be a ${ED25519_SIGNATURE_SIZE}-byte Ed25519 signature, got ${bytes.length} bytes`, field);
  return bytes;
}

/** A signature a record depends on, and how to name it if it does not verify. */
export interface SignatureCheck {
  publicKey: Uint8Array;
  message: Uint8Array;
  signature: Uint8Array;
  field: string;
  problem: string;
}

/**
 * Everything parseRecord checks except the Ed25519 equations, which are returned to be checked
 * elsewhere (the server verifies them in a worker thread, many at a time). The record must not
 * be trusted until every check verified; failedSignature turns a failure into the error.
 */
export function decodeRecord(entry: Uint8Array): { record: ParsedRecord; signatures: SignatureCheck[] } {
  if (!(entry instanceof Uint8Array)) throw new RecordError('bad-envelope', `must be bytes, got ${typeof entry}`, 'entry');
  if (entry.length > MAX_ENTRY_SIZE) throw new RecordError('too-large', `is ${entry.length} bytes; a log entry is at most ${MAX_ENTRY_SIZE}`, 'entry');
  const text = decodeUtf8(entry);
  const decoded = (text !== undefined && decodeEnvelopeFast(entry, text)) || decodeEnvelope(text);
  const { envelope, message, payloadBytes } = decoded;
  const payload = validatePayload(parseCanonicalJson(payloadBytes, 'payload'));
  const { keyid, sig } = envelope.signatures[0];
  if (keyid !== payload.author) throw new RecordError('bad-signature', `must be the payload author ${payload.author}, got ${keyid}`, 'signatures[0].keyid');
  const signatures: SignatureCheck[] = [
    {
      publicKey: parseKeyRef(payload.author),
      message,
      signature: decoded.signature ?? decodeSignature(sig, 'signatures[0].sig'),
      field: 'signatures[0].sig',
      problem: `does not verify with the author key ${payload.author}`,
    },
  ];
  // Without `sig`, the rotation rests on the next-key commitment, a log-level rule (spec/policy.md).
  if (payload.type === 'creator' && payload.rotation?.sig !== undefined) {
    const { from, sig: rotationSig } = payload.rotation;
    signatures.push({
      publicKey: parseKeyRef(from),
      message: keyRotationMessage(from, payload.author),
      signature: decodeSignature(rotationSig, 'payload.rotation.sig'),
      field: 'payload.rotation.sig',
      problem: `is not the old key ${from} endorsing the author ${payload.author}`,
    });
  }
  return { record: { envelope, payload, entryBytes: entry, payloadBytes, author: payload.author }, signatures };
}

/** The error for a signature check that did not verify. */
export function failedSignature(check: SignatureCheck): RecordError {
  return new RecordError('bad-signature', check.problem, check.field);
}

/**
 * Turns a log entry into a typed, signature-checked record, or throws a RecordError naming the
 * offending field. Checks, in order: size, UTF-8, JSON, canonical form of the entry, envelope
 * shape, payload base64, payload canonical form, payload schema, signer = author, signature,
 * and for a key rotation the old key's endorsement.
 */
export function parseRecord(entry: Uint8Array, opts: ParseOptions = {}): ParsedRecord {
  const { record, signatures } = decodeRecord(entry);
  const verify = opts.verify ?? nobleEd25519Verify;
  for (const check of signatures) {
    if (!safeVerify(verify, check.publicKey, check.message, check.signature)) throw failedSignature(check);
  }
  return record;
}

/**
 * Validates a payload, signs it with the author's key and returns the log entry. Throws a
 * RecordError if the payload is invalid, the entry would be too large, or the signer's key is
 * not the payload's author (checked by verifying the fresh signature, so a mix-up of keys is
 * caught here rather than by the log).
 */
export function signRecord(payload: RecordPayload, signer: Signer, opts: ParseOptions = {}): Uint8Array {
  const checked = validatePayload(payload);
  const payloadBytes = canonicalJsonBytes(checked);
  const message = preAuthEncoding(RECORD_PAYLOAD_TYPE, payloadBytes);
  const signature = signer.sign(message);
  const verify = opts.verify ?? nobleEd25519Verify;
  if (!safeVerify(verify, parseKeyRef(checked.author, 'payload.author'), message, signature)) {
    throw new RecordError('bad-signature', `the signer's key (${signer.name}) is not the author ${checked.author}`, 'payload.author');
  }
  const entry = encodeEntry({ payloadType: RECORD_PAYLOAD_TYPE, payload: toBase64(payloadBytes), signatures: [{ keyid: checked.author, sig: toBase64(signature) }] });
  if (entry.length > MAX_ENTRY_SIZE) throw new RecordError('too-large', `would be ${entry.length} bytes; a log entry is at most ${MAX_ENTRY_SIZE}`, 'entry');
  return entry;
}

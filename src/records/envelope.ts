/**
 * The DSSE envelope around every record, and its byte form in the log: the RFC 8785 text of the
 * envelope. The signature covers DSSE's pre-authentication encoding (PAE) of the payload type and
 * the payload bytes, which are themselves the RFC 8785 text of the payload.
 */
import { z } from 'zod';
import { canonicalJson } from './canonical.js';
import { encodeUtf8 } from './encoding.js';
import { keyRefSchema } from './schema.js';
import type { KeyRef } from './keys.js';

export const RECORD_PAYLOAD_TYPE = 'application/vnd.provenance-ledger.record+json';
/** A log entry is at most 65,535 bytes: entry bundles store its length as a u16. */
export const MAX_ENTRY_SIZE = 65_535;
export const ED25519_SIGNATURE_SIZE = 64;

export interface Envelope {
  payloadType: typeof RECORD_PAYLOAD_TYPE;
  /** Standard padded base64 of the payload's RFC 8785 bytes. */
  payload: string;
  /** Exactly one signature, by the payload's author. */
  signatures: [{ keyid: KeyRef; sig: string }];
}

export const envelopeSchema = z.strictObject({
  payloadType: z.literal(RECORD_PAYLOAD_TYPE, `must be "${RECORD_PAYLOAD_TYPE}"`),
  payload: z.string(),
  signatures: z
    .array(z.strictObject({ keyid: keyRefSchema, sig: z.string() }))
    .length(1, 'must hold exactly one signature (by the payload author)'),
});

/** DSSE v1 PAE: `DSSEv1 <len(type)> <type> <len(body)> <body>`, lengths in decimal bytes. */
export function preAuthEncoding(payloadType: string, body: Uint8Array): Uint8Array {
  const typeBytes = encodeUtf8(payloadType);
  const head = encodeUtf8(`DSSEv1 ${typeBytes.length} ${payloadType} ${body.length} `);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/** The log entry for an envelope: its RFC 8785 bytes. */
export function encodeEntry(envelope: Envelope): Uint8Array {
  return canonicalEntry(envelope);
}

/**
 * The RFC 8785 bytes of a submitted JSON value (the log entry it would be). A value shaped like
 * an envelope takes envelopeText, byte-identical to the general serialiser and several times
 * cheaper; anything else goes through the serialiser (and is then refused by decodeRecord).
 */
export function canonicalEntry(value: unknown): Uint8Array {
  return encodeUtf8(envelopeText(value) ?? canonicalJson(value));
}

/**
 * The RFC 8785 text of a value with exactly the envelope's members (all strings), or undefined
 * for any other value. With the members fixed, the canonical text is a template: RFC 8785 sorts
 * the keys (payload < payloadType < signatures; keyid < sig) and writes strings as
 * JSON.stringify does.
 */
export function envelopeText(value: unknown): string | undefined {
  if (!hasExactly(value, ENVELOPE_KEYS)) return undefined;
  const { payload, payloadType, signatures } = value as Record<string, unknown>;
  if (typeof payload !== 'string' || typeof payloadType !== 'string' || !Array.isArray(signatures) || signatures.length !== 1) return undefined;
  const signature: unknown = signatures[0];
  if (!hasExactly(signature, SIGNATURE_KEYS)) return undefined;
  const { keyid, sig } = signature as Record<string, unknown>;
  if (typeof keyid !== 'string' || typeof sig !== 'string') return undefined;
  return `{"payload":${JSON.stringify(payload)},"payloadType":${JSON.stringify(payloadType)},"signatures":[{"keyid":${JSON.stringify(keyid)},"sig":${JSON.stringify(sig)}}]}`;
}

const ENVELOPE_KEYS = ['payload', 'payloadType', 'signatures'];
const SIGNATURE_KEYS = ['keyid', 'sig'];

function hasExactly(value: unknown, keys: string[]): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const own = Object.keys(value);
  return own.length === keys.length && keys.every((k) => Object.hasOwn(value, k));
}

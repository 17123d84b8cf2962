/**
 * The DSSE envelope around every record, and its byte form in the log: the RFC 8785 text of the
 * envelope. The signature covers DSSE's pre-authentication encoding (PAE) of the payload type and
 * the payload bytes, which are themselves the RFC 8785 text of the payload.
 */
import { z } from 'zod';
import { canonicalJsonBytes } from './canonical.js';
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
  return canonicalJsonBytes(envelope);
}

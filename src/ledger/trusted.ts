/**
 * Reading back the ledger's own log entries. Every record entry passed parseRecord (schema,
 * canonical form, signatures) before it was appended, so reading one back needs only its JSON:
 * replaying a million records on open must not re-run the validator. Auditors, who trust
 * nothing, re-check everything with parseRecord (pvl audit).
 */
import { type Envelope, type ParsedRecord, RECORD_PAYLOAD_TYPE, type RecordPayload, fromBase64 } from '../records/index.js';

const decoder = new TextDecoder();
const OPEN_BRACE = 0x7b;

/** The record in a log entry, or undefined for an entry that is not a record. */
export function parseTrusted(entry: Uint8Array): ParsedRecord | undefined {
  // The log is generic and may hold other entries; most are told apart at the first byte,
  // without the cost of a failed parse.
  if (entry[0] !== OPEN_BRACE) return undefined;
  const envelope = parseJson(decoder.decode(entry)) as Envelope | undefined;
  if (envelope?.payloadType !== RECORD_PAYLOAD_TYPE || typeof envelope.payload !== 'string') return undefined;
  const payloadBytes = fromBase64(envelope.payload);
  if (!payloadBytes) return undefined;
  const payload = parseJson(decoder.decode(payloadBytes)) as RecordPayload | undefined;
  if (typeof payload?.type !== 'string' || typeof payload.author !== 'string') return undefined;
  return { envelope, payload, entryBytes: entry, payloadBytes, author: payload.author };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

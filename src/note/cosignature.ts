/**
 * Timestamped Ed25519 witness cosignatures (C2SP tlog-cosignature v1.0.1, key type 0x04).
 *
 * Signature line payload: key ID (4) || big-endian u64 timestamp (8) || Ed25519 signature (64),
 * 76 bytes. The signed message is
 *
 *     cosignature/v1\n
 *     time <timestamp, decimal, no leading zeros>\n
 *     <the whole checkpoint text, extension lines included>
 */
import { NoteError } from './errors.js';
import { base64Encode, bytesEqual, concat, utf8Encode } from './encoding.js';
import { parseCheckpoint } from './checkpoint.js';
import {
  type Ed25519Verify,
  KEY_TYPE_COSIGNATURE,
  type PrivateKey,
  type Verifier,
  checkPrivateKey,
  decodeVerifierKey,
  formatVerifierKey,
  keyId,
  nobleEd25519Verify,
  nobleSign,
} from './keys.js';
import { type NoteSignature } from './note.js';

/** Timestamp (8) + Ed25519 signature (64): the payload after the key ID. */
const COSIGNATURE_SIZE = 72;

function cosignedMessage(timestamp: number, checkpointText: Uint8Array): Uint8Array {
  return concat(utf8Encode(`cosignature/v1\ntime ${timestamp}\n`), checkpointText);
}

/**
 * The timestamp of a 72-byte cosignature payload, or undefined if it is not one. Timestamps above
 * 2^53-1 (the year 285 million) are treated as malformed: they cannot be a number here, and the
 * spec lets verifiers reject timestamps in the future.
 */
function readTimestamp(sig: Uint8Array): number | undefined {
  if (!(sig instanceof Uint8Array) || sig.length !== COSIGNATURE_SIZE) return undefined;
  const t = new DataView(sig.buffer, sig.byteOffset, 8).getBigUint64(0);
  return t <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(t) : undefined;
}

/**
 * A verifier for a witness's cosignatures from its vkey `<name>+<hex id>+base64(0x04 || pub)`.
 * verify(msg, sig) takes the checkpoint text and the 72-byte payload after the key ID.
 */
export function cosignatureVerifier(
  vkey: string,
  verify: Ed25519Verify = nobleEd25519Verify,
): Verifier & { timestampOf(sig: NoteSignature): number } {
  const { name, keyId: id, publicKey } = decodeVerifierKey(vkey, KEY_TYPE_COSIGNATURE);
  return {
    name,
    keyId: id,
    type: KEY_TYPE_COSIGNATURE,
    publicKey,
    verify(msg, sig) {
      const t = readTimestamp(sig);
      if (t === undefined) return false;
      return verify(publicKey, cosignedMessage(t, msg), sig.subarray(8));
    },
    timestampOf(sig) {
      if (sig.name !== name || !bytesEqual(sig.keyId, id)) {
        throw new NoteError('malformed-cosignature', `not a signature by ${name}`, 'signature');
      }
      const t = readTimestamp(sig.signature);
      if (t === undefined) throw new NoteError('malformed-cosignature', 'cosignature must be an 8-byte timestamp and a 64-byte signature', 'signature');
      return t;
    },
  };
}

/**
 * Cosigns a checkpoint text (which must parse as a checkpoint) at `timestamp` (POSIX seconds) and
 * returns the signature line, '\n' included, to append to the note. The key ID is the type-0x04
 * ID of the key's public key. `sign` defaults to noble over the key's seed (pass e.g. a
 * node:crypto signer's sign on a server).
 */
export function cosignCheckpoint(
  checkpointText: string,
  key: PrivateKey,
  timestamp: number,
  sign?: (msg: Uint8Array) => Uint8Array,
): string {
  parseCheckpoint(checkpointText);
  checkPrivateKey(key);
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new NoteError('malformed-cosignature', 'timestamp must be an integer number of seconds, 0 … 2^53-1', 'timestamp');
  }
  const msg = cosignedMessage(timestamp, utf8Encode(checkpointText));
  const sig = sign ? sign(msg) : nobleSign(key.seed, msg);
  if (!(sig instanceof Uint8Array) || sig.length !== 64) throw new NoteError('malformed-cosignature', 'signer must return 64 bytes', 'sign');
  const payload = new Uint8Array(4 + COSIGNATURE_SIZE);
  payload.set(keyId(key.name, KEY_TYPE_COSIGNATURE, key.publicKey));
  new DataView(payload.buffer).setBigUint64(4, BigInt(timestamp));
  payload.set(sig, 12);
  return `\u2014 ${key.name} ${base64Encode(payload)}\n`;
}

/** The witness's vkey: `<name>+<hex id>+base64(0x04 || 32-byte public key)`. */
export function formatCosignerVerifierKey(name: string, publicKey: Uint8Array): string {
  return formatVerifierKey(name, publicKey, KEY_TYPE_COSIGNATURE);
}

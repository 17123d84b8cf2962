/**
 * The two commitments a creator record may carry (spec/records.md §2.1): to the next key
 * (pre-rotation) and to an e-mail address (salted, so the log does not publish it).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { encodeUtf8, toHex } from './encoding.js';
import { type KeyRef, parseKeyRef } from './keys.js';

/**
 * `next`: hex SHA-256 of the next key's 32-byte Ed25519 public key. A hash rather than the key,
 * so that whoever steals the current key learns nothing they could rotate to.
 */
export function nextKeyCommitment(key: KeyRef | Uint8Array): string {
  return toHex(sha256(typeof key === 'string' ? parseKeyRef(key) : key));
}

/** Domain separation: the commitment can never be mistaken for the hash of anything else. */
export const EMAIL_COMMITMENT_PREFIX = 'pvl-email-commitment-v1\n';

const EMAIL_SALT = /^[0-9a-f]{32}$/;

/** A salt as emailCommitment takes it: 32 lowercase hex digits (16 random bytes). */
export function isEmailSalt(salt: string): boolean {
  return EMAIL_SALT.test(salt);
}

/** The address as committed: trimmed and lower-cased, so that the holder can reproduce it. */
export function normalizeEmail(address: string): string {
  return address.trim().toLowerCase();
}

/**
 * `claims.emailCommitment`: hex SHA-256 of UTF-8 `"pvl-email-commitment-v1\n" ‖ salt ‖ "\n" ‖
 * address` (address normalised). Without the salt, guessing addresses finds nothing.
 */
export function emailCommitment(salt: string, address: string): string {
  if (!isEmailSalt(salt)) throw new TypeError(`the salt must be 32 lowercase hex digits, got ${JSON.stringify(salt.slice(0, 40))}`);
  return toHex(sha256(encodeUtf8(`${EMAIL_COMMITMENT_PREFIX}${salt}\n${normalizeEmail(address)}`)));
}

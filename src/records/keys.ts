/**
 * Key references: how records name an Ed25519 public key, `ed25519:<64 lowercase hex>` of the
 * raw 32-byte key. One key, one spelling, so keys can be compared as strings.
 */
import { RecordError } from './errors.js';
import { fromHex, isLowerHex, toHex } from './encoding.js';

export type KeyRef = `ed25519:${string}`;

export const ED25519_PUBLIC_KEY_SIZE = 32;

/** `ed25519:` + 64 lowercase hex digits (checked char by char: every record has several). */
export function isKeyRef(s: unknown): s is KeyRef {
  return typeof s === 'string' && s.length === 72 && s.startsWith('ed25519:') && isLowerHex(s, 8, 72);
}

export function formatKeyRef(publicKey: Uint8Array): KeyRef {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_PUBLIC_KEY_SIZE) {
    throw new RecordError('bad-key', `an Ed25519 public key is ${ED25519_PUBLIC_KEY_SIZE} bytes, got ${describeLength(publicKey)}`, 'publicKey');
  }
  return `ed25519:${toHex(publicKey)}`;
}

/** The raw 32-byte public key of a KeyRef; `field` names where the string came from. */
export function parseKeyRef(s: string, field = 'key'): Uint8Array {
  if (!isKeyRef(s)) throw new RecordError('bad-key', `must be ed25519:<64 lowercase hex>, got ${preview(s)}`, field);
  return fromHex(s.slice('ed25519:'.length))!;
}

function describeLength(x: unknown): string {
  return x instanceof Uint8Array ? `${x.length} bytes` : typeof x;
}

/** A short, quoted rendering of bad input for error messages (never the whole of a huge value). */
export function preview(x: unknown): string {
  const text = typeof x === 'string' ? JSON.stringify(x.length > 80 ? `${x.slice(0, 80)}…` : x) : x === undefined ? 'nothing' : JSON.stringify(x) ?? String(x);
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}

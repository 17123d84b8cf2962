/**
 * Keys of signed notes (C2SP signed-note): key names, key IDs, verifier key strings
 * (`<name>+<hex id>+<base64(type || public key)>`), Go-style private key strings and Ed25519
 * signing/verification on @noble/ed25519. Browser-safe.
 */
import * as ed from '@noble/ed25519';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { NoteError } from './errors.js';
import { WHITE_SPACE, base64Decode, base64Encode, bytesEqual, concat, hexDecode, hexEncode, utf8Encode } from './encoding.js';

// noble's synchronous API needs a SHA-512; leave any provider someone else installed in place.
ed.hashes.sha512 ??= (m: Uint8Array) => sha512(m);

/** Signature type byte of plain Ed25519 note signatures (checkpoints signed by a log). */
export const KEY_TYPE_ED25519 = 0x01;
/** Signature type byte of timestamped Ed25519 witness cosignatures (C2SP tlog-cosignature). */
export const KEY_TYPE_COSIGNATURE = 0x04;

const PUBLIC_KEY_SIZE = 32;
const SEED_SIZE = 32;
const SIGNATURE_SIZE = 64;
const KEY_ID_SIZE = 4;

/**
 * key ID = SHA-256(name || 0x0A || type || public key)[0:4]. The type byte makes the same key
 * pair under the same name a different key for each signature type.
 */
export function keyId(name: string, type: number, publicKey: Uint8Array): Uint8Array {
  if (!Number.isInteger(type) || type < 0 || type > 255) throw new NoteError('malformed-key', 'type must be a byte', 'type');
  return sha256(concat(utf8Encode(name), Uint8Array.of(0x0a, type), publicKey)).slice(0, KEY_ID_SIZE);
}

/**
 * Key names (C2SP signed-note): non-empty, valid Unicode, no Unicode White_Space, no '+'. We
 * also refuse ASCII control characters: a name is written into note signature lines, where they
 * are forbidden, so such a name could never sign or verify anything.
 */
export function isValidKeyName(name: string): boolean {
  return (
    typeof name === 'string' &&
    name !== '' &&
    !name.includes('+') &&
    !WHITE_SPACE.test(name) &&
    !/[\u0000-\u001f]/.test(name) &&
    !/\p{Cs}/u.test(name)
  );
}

function assertKeyName(name: string, field = 'name'): void {
  if (!isValidKeyName(name)) {
    throw new NoteError('malformed-key', 'key name must be non-empty valid Unicode without spaces or "+"', field);
  }
}

/** Verifies one Ed25519 signature; must return false (never throw) on malformed input. */
export type Ed25519Verify = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;

/**
 * RFC 8032 verification on @noble/ed25519 with `zip215: false`: canonical encodings of A and R
 * required, s < L, small-order public keys refused. This is the portable (browser) verifier.
 */
export const nobleEd25519Verify: Ed25519Verify = (publicKey, message, signature) => {
  if (!(publicKey instanceof Uint8Array) || !(message instanceof Uint8Array) || !(signature instanceof Uint8Array)) return false;
  if (publicKey.length !== PUBLIC_KEY_SIZE || signature.length !== SIGNATURE_SIZE) return false;
  try {
    // noble with zip215: false refuses non-canonical encodings, S ≥ L and small-order keys, but
    // checks the cofactored equation; OpenSSL checks the cofactorless one. Both must hold here,
    // so that a browser and the server never disagree about a signature.
    return ed.verify(signature, message, publicKey, { zip215: false }) && cofactorlessEquationHolds(publicKey, message, signature);
  } catch {
    return false;
  }
};

const GROUP_ORDER = 2n ** 252n + 27742317777372353535851937790883648493n;

function littleEndianNumber(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

/** [S]B − [k]A encodes to exactly R, with k = SHA-512(R ‖ A ‖ M) mod L (RFC 8032 §5.1.7 without the cofactor). */
function cofactorlessEquationHolds(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const r = signature.subarray(0, 32);
  const s = littleEndianNumber(signature.subarray(32));
  const k = littleEndianNumber(sha512(ed.etc.concatBytes(r, publicKey, message))) % GROUP_ORDER;
  const a = ed.Point.fromBytes(publicKey, false);
  const check = ed.Point.BASE.multiplyUnsafe(s).subtract(a.multiplyUnsafe(k));
  return bytesEqual(check.toBytes(), r);
}

/** A public key that can check note signatures made under one (name, key ID). */
export interface Verifier {
  name: string;
  /** 4 bytes; with `name`, identifies the signature lines this verifier is asked about. */
  keyId: Uint8Array;
  /** Signature type byte (KEY_TYPE_ED25519 or KEY_TYPE_COSIGNATURE). */
  type: number;
  /** Raw 32-byte Ed25519 public key. */
  publicKey: Uint8Array;
  /** `sig` is the signature line's payload after the 4-byte key ID; `msg` is the note text. */
  verify(msg: Uint8Array, sig: Uint8Array): boolean;
}

/** The parts of a verifier key string, checked for syntax, length, type and key ID. */
export function decodeVerifierKey(vkey: string, type: number): { name: string; keyId: Uint8Array; publicKey: Uint8Array } {
  if (typeof vkey !== 'string') throw new NoteError('malformed-key', 'verifier key must be a string', 'vkey');
  // Split on the first two '+' only: the base64 key data may itself contain '+'.
  const i = vkey.indexOf('+');
  const j = i < 0 ? -1 : vkey.indexOf('+', i + 1);
  if (j < 0) throw new NoteError('malformed-key', 'verifier key must be <name>+<hex key ID>+<base64 key>', 'vkey');
  const name = vkey.slice(0, i);
  const idHex = vkey.slice(i + 1, j);
  const keyData = vkey.slice(j + 1);
  assertKeyName(name, 'vkey.name');
  const id = idHex.length === 2 * KEY_ID_SIZE ? hexDecode(idHex) : undefined;
  if (!id) throw new NoteError('malformed-key', 'key ID must be 8 lowercase hex digits', 'vkey.keyId');
  const raw = base64Decode(keyData);
  if (!raw || raw.length === 0) throw new NoteError('malformed-key', 'key data must be canonical padded base64', 'vkey.key');
  if (raw[0] !== type) {
    throw new NoteError('malformed-key', `key type 0x${hexEncode(raw.subarray(0, 1))} is not 0x${hexEncode(Uint8Array.of(type))}`, 'vkey.key');
  }
  if (raw.length !== 1 + PUBLIC_KEY_SIZE) throw new NoteError('malformed-key', 'Ed25519 public key must be 32 bytes', 'vkey.key');
  const publicKey = raw.slice(1);
  if (!bytesEqual(id, keyId(name, type, publicKey))) {
    throw new NoteError('malformed-key', 'key ID does not match the name and public key', 'vkey.keyId');
  }
  return { name, keyId: id, publicKey };
}

/** Parses `<name>+<8 hex>+<base64(0x01 || 32-byte public key)>` into an Ed25519 note verifier. */
export function parseVerifierKey(vkey: string, verify: Ed25519Verify = nobleEd25519Verify): Verifier {
  const { name, keyId: id, publicKey } = decodeVerifierKey(vkey, KEY_TYPE_ED25519);
  return {
    name,
    keyId: id,
    type: KEY_TYPE_ED25519,
    publicKey,
    verify: (msg, sig) => verify(publicKey, msg, sig),
  };
}

/** `<name>+<hex key ID>+<base64(type || public key)>`; type is 0x01 (default) or 0x04. */
export function formatVerifierKey(name: string, publicKey: Uint8Array, type: number = KEY_TYPE_ED25519): string {
  assertKeyName(name);
  if (type !== KEY_TYPE_ED25519 && type !== KEY_TYPE_COSIGNATURE) {
    throw new NoteError('malformed-key', 'only Ed25519 key types 0x01 and 0x04 are supported', 'type');
  }
  assertPublicKey(publicKey);
  const raw = concat(Uint8Array.of(type), publicKey);
  return `${name}+${hexEncode(keyId(name, type, publicKey))}+${base64Encode(raw)}`;
}

function assertPublicKey(publicKey: Uint8Array): void {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_SIZE) {
    throw new NoteError('malformed-key', 'Ed25519 public key must be 32 bytes', 'publicKey');
  }
}

/** An Ed25519 signing key with its note name. `keyId` is the type-0x01 key ID. */
export interface PrivateKey {
  name: string;
  seed: Uint8Array;
  publicKey: Uint8Array;
  keyId: Uint8Array;
}

const PRIVATE_PREFIX = 'PRIVATE+KEY+';

/**
 * Parses Go's private key string `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || 32-byte seed)>`.
 * The key ID is of the public key derived from the seed and must match.
 */
export function parsePrivateKey(s: string): PrivateKey {
  if (typeof s !== 'string' || !s.startsWith(PRIVATE_PREFIX)) {
    throw new NoteError('malformed-key', 'private key must start with PRIVATE+KEY+', 'skey');
  }
  const rest = s.slice(PRIVATE_PREFIX.length);
  const i = rest.indexOf('+');
  const j = i < 0 ? -1 : rest.indexOf('+', i + 1);
  if (j < 0) throw new NoteError('malformed-key', 'private key must be PRIVATE+KEY+<name>+<hex key ID>+<base64 key>', 'skey');
  const name = rest.slice(0, i);
  assertKeyName(name, 'skey.name');
  const idHex = rest.slice(i + 1, j);
  const id = idHex.length === 2 * KEY_ID_SIZE ? hexDecode(idHex) : undefined;
  if (!id) throw new NoteError('malformed-key', 'key ID must be 8 lowercase hex digits', 'skey.keyId');
  const raw = base64Decode(rest.slice(j + 1));
  if (!raw || raw.length !== 1 + SEED_SIZE || raw[0] !== KEY_TYPE_ED25519) {
    throw new NoteError('malformed-key', 'key data must be canonical base64 of 0x01 and a 32-byte Ed25519 seed', 'skey.key');
  }
  const key = privateKeyFromSeed(name, raw.slice(1));
  if (!bytesEqual(id, key.keyId)) throw new NoteError('malformed-key', 'key ID does not match the derived public key', 'skey.keyId');
  return key;
}

function privateKeyFromSeed(name: string, seed: Uint8Array): PrivateKey {
  const publicKey = ed25519PublicKey(seed);
  return { name, seed: seed.slice(), publicKey, keyId: keyId(name, KEY_TYPE_ED25519, publicKey) };
}

export function formatPrivateKey(name: string, seed: Uint8Array): string {
  assertKeyName(name);
  const key = privateKeyFromSeed(name, seed);
  return `${PRIVATE_PREFIX}${name}+${hexEncode(key.keyId)}+${base64Encode(concat(Uint8Array.of(KEY_TYPE_ED25519), key.seed))}`;
}

/** A fresh key from the platform CSPRNG (globalThis.crypto, present in browsers and Node ≥ 19). */
export function generatePrivateKey(name: string): PrivateKey {
  assertKeyName(name);
  return privateKeyFromSeed(name, crypto.getRandomValues(new Uint8Array(SEED_SIZE)));
}

export function verifierKeyOf(key: PrivateKey): string {
  return formatVerifierKey(key.name, key.publicKey);
}

/** The RFC 8032 public key of a 32-byte seed. */
export function ed25519PublicKey(seed: Uint8Array): Uint8Array {
  if (!(seed instanceof Uint8Array) || seed.length !== SEED_SIZE) {
    throw new NoteError('malformed-key', 'Ed25519 seed must be 32 bytes', 'seed');
  }
  return ed.getPublicKey(seed);
}

/** Signs note texts under one (name, key ID). Synchronous so a log can sign inside a critical section. */
export interface Signer {
  name: string;
  keyId: Uint8Array;
  sign(msg: Uint8Array): Uint8Array;
  /** The Ed25519 public key, when the signer knows it (a log signs its clock records with it: spec/policy.md "The clock"). */
  publicKey?: Uint8Array;
}

/**
 * Checks that a PrivateKey object is self-consistent (public key and key ID derived from the seed
 * under its name) before a signer is built on it: a hand-assembled object with a stale key ID
 * would otherwise sign lines no verifier can match.
 */
export function checkPrivateKey(key: PrivateKey): void {
  if (key === null || typeof key !== 'object') throw new NoteError('malformed-key', 'not a private key', 'key');
  assertKeyName(key.name, 'key.name');
  const derived = privateKeyFromSeed(key.name, key.seed);
  if (!(key.publicKey instanceof Uint8Array) || !bytesEqual(derived.publicKey, key.publicKey)) {
    throw new NoteError('malformed-key', 'public key does not match the seed', 'key.publicKey');
  }
  if (!(key.keyId instanceof Uint8Array) || !bytesEqual(derived.keyId, key.keyId)) {
    throw new NoteError('malformed-key', 'key ID does not match the name and public key', 'key.keyId');
  }
}

/** Ed25519 signing on @noble/ed25519 (portable; see platform/node-signer.ts for the server). */
export function nobleSigner(key: PrivateKey): Signer {
  checkPrivateKey(key);
  const seed = key.seed.slice();
  return { name: key.name, keyId: key.keyId.slice(), publicKey: key.publicKey.slice(), sign: (msg) => ed.sign(msg, seed) };
}

/** Plain Ed25519 signature with noble, for callers that need the raw primitive (cosigning). */
export function nobleSign(seed: Uint8Array, msg: Uint8Array): Uint8Array {
  return ed.sign(msg, seed);
}

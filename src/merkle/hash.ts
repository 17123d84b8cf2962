import { sha256 } from '@noble/hashes/sha2.js';
import { MerkleError } from './errors.js';

/** A SHA-256 digest: always exactly 32 bytes. */
export type Hash = Uint8Array;
export const HASH_SIZE = 32;

/**
 * RFC 6962 §2.1 hashing, with the SHA-256 implementation injected so the same code runs on
 * @noble/hashes in a browser and on OpenSSL (node:crypto) on the server's hot path.
 */
export interface Hasher {
  /** MTH({}) = SHA-256(""). */
  emptyRoot(): Hash;
  /** MTH({d}) = SHA-256(0x00 || d). */
  hashLeaf(entry: Uint8Array): Hash;
  /** SHA-256(0x01 || left || right). */
  hashChildren(left: Hash, right: Hash): Hash;
}

/** Builds a Hasher from any SHA-256 function of one byte string. */
export function rfc6962Hasher(sha256Of: (data: Uint8Array) => Uint8Array): Hasher {
  const empty = sha256Of(new Uint8Array(0));
  // One scratch buffer for node hashes: hashChildren is the inner loop of integration.
  const nodeInput = new Uint8Array(1 + 2 * HASH_SIZE);
  nodeInput[0] = 0x01;
  let leafInput = new Uint8Array(1024); // leafInput[0] stays 0x00
  return {
    emptyRoot: () => empty.slice(),
    hashLeaf(entry) {
      // A reused scratch buffer: a fresh one per leaf costs an off-heap allocation and GC work.
      if (leafInput.length < 1 + entry.length) leafInput = new Uint8Array(Math.max(2 * leafInput.length, 1 + entry.length));
      leafInput.set(entry, 1);
      return sha256Of(leafInput.subarray(0, 1 + entry.length));
    },
    hashChildren(left, right) {
      nodeInput.set(left, 1);
      nodeInput.set(right, 1 + HASH_SIZE);
      return sha256Of(nodeInput);
    },
  };
}

/** The portable default: @noble/hashes, no Node built-ins. */
export const defaultHasher: Hasher = rfc6962Hasher((data) => sha256(data));

export function assertHash(h: Uint8Array, what: string): void {
  if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
    throw new MerkleError('bad-hash-size', `must be ${HASH_SIZE} bytes, got ${h?.length ?? typeof h}`, what);
  }
}

export function equalHashes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** Server-side SHA-256 through OpenSSL: about twice @noble/hashes' speed on the integration path. */
import { hash } from 'node:crypto';
import { rfc6962Hasher, type Hasher } from '../merkle/index.js';

export function nodeSha256(data: Uint8Array): Uint8Array {
  // One-shot crypto.hash (Node ≥ 20.12) skips the Hash object: ~1.8× createHash on short inputs.
  return hash('sha256', data, 'buffer') as unknown as Uint8Array;
}

export const nodeHasher: Hasher = rfc6962Hasher(nodeSha256);

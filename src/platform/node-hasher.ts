/** Server-side SHA-256 through OpenSSL: about twice @noble/hashes' speed on the integration path. */
import { createHash } from 'node:crypto';
import { rfc6962Hasher, type Hasher } from '../merkle/index.js';

export function nodeSha256(data: Uint8Array): Uint8Array {
  return createHash('sha256').update(data).digest();
}

export const nodeHasher: Hasher = rfc6962Hasher(nodeSha256);

/**
 * Work identifiers: how records name a creative work. `sha256:` names exact bytes; the
 * perceptual identifiers (`phash:`, `pdq:`, `tcode:`) survive re-encoding and let a grant cover
 * copies of a work whose bytes differ. Always lowercase hex, so one identifier has one spelling.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { RecordError } from './errors.js';
import { fromHex, isLowerHex, toHex } from './encoding.js';
import { preview } from './keys.js';

export type WorkIdScheme = 'sha256' | 'phash' | 'pdq' | 'tcode';
export type WorkId = `${WorkIdScheme}:${string}`;

/** Digest size in bytes per scheme: SHA-256 and PDQ are 256-bit, pHash and ISCC text code 64-bit. */
export const WORK_ID_SIZES: Readonly<Record<WorkIdScheme, number>> = { sha256: 32, phash: 8, pdq: 32, tcode: 8 };

export const WORK_ID_DESCRIPTION = 'a work identifier (sha256:<64 hex> | phash:<16 hex> | pdq:<64 hex> | tcode:<16 hex>, lowercase)';

/** `<scheme>:<lowercase hex of the scheme's digest size>` (checked char by char, no regex). */
export function isWorkId(s: unknown): s is WorkId {
  if (typeof s !== 'string') return false;
  const colon = s.indexOf(':');
  const scheme = schemeBefore(s, colon);
  return scheme !== undefined && s.length === colon + 1 + 2 * WORK_ID_SIZES[scheme] && isLowerHex(s, colon + 1, s.length);
}

/**
 * The scheme `s` names before its first `:` (at `colon`, as s.indexOf(':') gives it), or
 * undefined if that is no scheme. Compares in place: no substring per identifier.
 */
export function schemeBefore(s: string, colon: number): WorkIdScheme | undefined {
  switch (colon) {
    case 6:
      return s.startsWith('sha256') ? 'sha256' : undefined;
    case 3:
      return s.startsWith('pdq') ? 'pdq' : undefined;
    case 5:
      return s.startsWith('phash') ? 'phash' : s.startsWith('tcode') ? 'tcode' : undefined;
    default:
      return undefined;
  }
}

export function workIdScheme(id: WorkId): WorkIdScheme {
  return id.slice(0, id.indexOf(':')) as WorkIdScheme;
}

export function parseWorkId(s: string, field = 'work'): { scheme: WorkIdScheme; digest: Uint8Array } {
  if (!isWorkId(s)) throw new RecordError('bad-work-id', `must be ${WORK_ID_DESCRIPTION}, got ${preview(s)}`, field);
  const scheme = workIdScheme(s);
  return { scheme, digest: fromHex(s.slice(scheme.length + 1))! };
}

export function formatWorkId(scheme: WorkIdScheme, digest: Uint8Array): WorkId {
  const size = WORK_ID_SIZES[scheme];
  if (size === undefined) throw new RecordError('bad-work-id', `unknown scheme ${preview(scheme)}`, 'scheme');
  if (digest.length !== size) throw new RecordError('bad-work-id', `a ${scheme} digest is ${size} bytes, got ${digest.length}`, 'digest');
  return `${scheme}:${toHex(digest)}`;
}

/** The `sha256:` identifier of a work's exact bytes. */
export function workIdOfBytes(content: Uint8Array): WorkId {
  return formatWorkId('sha256', sha256(content));
}

/**
 * C2SP tlog-checkpoint v1.0.0: the note text of a log's signed tree head.
 *
 *     <origin>\n
 *     <tree size, decimal>\n
 *     <root hash, base64>\n
 *     <extension line>\n        (zero or more, each non-empty)
 */
import { NoteError } from './errors.js';
import { WHITE_SPACE, base64Decode, base64Encode, bytesEqual, isNoteSafe, utf8Decode } from './encoding.js';
import { type Signer, type Verifier } from './keys.js';
import { type NoteSignature, openNote, signNote } from './note.js';

export interface Checkpoint {
  /** The log's identity; by convention also the name of its signing key. */
  origin: string;
  /** Number of leaves, 0 … Number.MAX_SAFE_INTEGER. */
  size: number;
  /** RFC 6962 root hash, 32 bytes. */
  rootHash: Uint8Array;
  /** Opaque extra lines, each non-empty; usually none. */
  extensions: string[];
}

const HASH_SIZE = 32;
const DECIMAL = /^(0|[1-9][0-9]*)$/;

function bad(message: string, field?: string): NoteError {
  return new NoteError('malformed-checkpoint', message, field);
}

/**
 * The origin must be non-empty and free of Unicode White_Space (a space would make it two words
 * to every tool that splits lines). '+' is allowed: the spec only recommends against it, and
 * clients must not assume the origin has any particular form.
 */
function checkOrigin(origin: string): void {
  if (typeof origin !== 'string' || origin === '') throw bad('origin must be non-empty', 'origin');
  if (WHITE_SPACE.test(origin)) throw bad('origin must not contain spaces', 'origin');
  if (!isNoteSafe(origin)) throw bad('origin must be valid Unicode without control characters', 'origin');
}

function checkExtension(line: string, i: number): void {
  const field = `extensions[${i}]`;
  if (typeof line !== 'string' || line === '') throw bad('extension lines must be non-empty', field);
  if (line.includes('\n') || !isNoteSafe(line)) throw bad('extension line must be one line of valid Unicode without control characters', field);
}

/** The checkpoint's note text, every line ending in '\n'. */
export function formatCheckpoint(c: Checkpoint): string {
  if (c === null || typeof c !== 'object') throw bad('not a checkpoint');
  checkOrigin(c.origin);
  if (!Number.isSafeInteger(c.size) || c.size < 0) throw bad('size must be an integer 0 … 2^53-1', 'size');
  if (!(c.rootHash instanceof Uint8Array) || c.rootHash.length !== HASH_SIZE) throw bad('root hash must be 32 bytes', 'rootHash');
  if (!Array.isArray(c.extensions)) throw bad('extensions must be an array', 'extensions');
  c.extensions.forEach(checkExtension);
  return [c.origin, String(c.size), base64Encode(c.rootHash), ...c.extensions].map((l) => l + '\n').join('');
}

/**
 * Parses checkpoint note text, strictly: formatCheckpoint(parseCheckpoint(t)) === t for every
 * accepted t. The size is decimal without leading zeros (except "0") and at most 2^53-1 (larger
 * trees are not representable here and do not exist); the root hash is canonical padded base64 of
 * exactly 32 bytes.
 */
export function parseCheckpoint(text: string): Checkpoint {
  if (typeof text !== 'string') throw bad('checkpoint text must be a string');
  if (!text.endsWith('\n')) throw bad('checkpoint text must end with a newline');
  if (!isNoteSafe(text)) throw bad('checkpoint text must be valid Unicode without control characters other than newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw bad('checkpoint needs origin, size and root hash lines');
  const [origin, sizeText, rootText, ...extensions] = lines;
  checkOrigin(origin);
  if (!DECIMAL.test(sizeText)) throw bad('size must be decimal without leading zeros', 'size');
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) throw bad('size is larger than 2^53-1', 'size');
  const rootHash = base64Decode(rootText);
  if (!rootHash || rootHash.length !== HASH_SIZE) throw bad('root hash must be canonical base64 of 32 bytes', 'rootHash');
  extensions.forEach(checkExtension);
  return { origin, size, rootHash, extensions };
}

/** formatCheckpoint + signNote with one signer. */
export function signCheckpoint(c: Checkpoint, signer: Signer): string {
  return signNote(formatCheckpoint(c), [signer]);
}

/**
 * Opens a signed checkpoint: the note must carry a valid signature by `verifier` (the log key),
 * every signature by a key in `[verifier, ...extraVerifiers]` must be valid, the text must be a
 * checkpoint, and its origin must equal `opts.origin ?? verifier.name`.
 * `verified` lists the valid signatures of all given keys (log first if it comes first in the note).
 */
export function openCheckpoint(
  note: string | Uint8Array,
  verifier: Verifier,
  opts: { origin?: string; extraVerifiers?: Verifier[] } = {},
): { checkpoint: Checkpoint; text: string; note: string; verified: NoteSignature[] } {
  const { text, verified } = openNote(note, [verifier, ...(opts.extraVerifiers ?? [])]);
  if (!verified.some((s) => s.name === verifier.name && bytesEqual(s.keyId, verifier.keyId))) {
    throw new NoteError('no-verified-signature', `checkpoint is not signed by ${verifier.name}`);
  }
  const checkpoint = parseCheckpoint(text);
  const origin = opts.origin ?? verifier.name;
  if (checkpoint.origin !== origin) {
    throw new NoteError('origin-mismatch', `checkpoint origin ${JSON.stringify(checkpoint.origin)} is not ${JSON.stringify(origin)}`, 'origin');
  }
  // openNote accepted it, so bytes are valid UTF-8.
  const noteText = typeof note === 'string' ? note : (utf8Decode(note) as string);
  return { checkpoint, text, note: noteText, verified };
}

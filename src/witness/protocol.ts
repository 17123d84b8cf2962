/**
 * The wire formats of C2SP tlog-witness v1.0.0 (spec/witness.md), shared by the witness and its
 * client. Browser-safe.
 *
 * add-checkpoint request body:
 *
 *     old <size>\n                 decimal, no leading zeros
 *     <base64 hash>\n              0 … 63 consistency-proof lines, 32 bytes each
 *     \n
 *     <signed checkpoint note>
 *
 * 409 response body (Content-Type text/x.tlog.size): `<latest size>\n`.
 */
import { base64Decode, base64Encode, utf8Decode } from '../note/encoding.js';
import { WitnessError } from './errors.js';

/** The most proof lines a client may send (a proof between any two sizes < 2^63 fits). */
export const MAX_PROOF_LINES = 63;
/** Content-Type of the 409 body. */
export const SIZE_CONTENT_TYPE = 'text/x.tlog.size';

const HASH_SIZE = 32;
const OLD_LINE = /^old (0|[1-9][0-9]*)$/;
const SIZE_BODY = /^(0|[1-9][0-9]*)\n$/;

export interface AddCheckpointRequest {
  /** The size of the latest checkpoint the client believes the witness cosigned (0 if none). */
  oldSize: number;
  /** RFC 6962 consistency proof from oldSize to the checkpoint's size; empty when oldSize is 0. */
  proof: Uint8Array[];
  /** The signed checkpoint note, signatures included. */
  checkpointNote: string;
}

function malformed(message: string, field?: string): WitnessError {
  return new WitnessError(400, 'malformed-request', message, field);
}

function checkSize(n: number, field: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw malformed('must be an integer 0 … 2^53-1', field);
}

/** The request body; checks the parts a witness would refuse on syntax alone. */
export function formatAddCheckpointRequest(req: AddCheckpointRequest): string {
  checkSize(req.oldSize, 'oldSize');
  if (!Array.isArray(req.proof) || req.proof.length > MAX_PROOF_LINES) throw malformed(`at most ${MAX_PROOF_LINES} proof hashes`, 'proof');
  req.proof.forEach((h, i) => {
    if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) throw malformed('must be a 32-byte hash', `proof[${i}]`);
  });
  if (typeof req.checkpointNote !== 'string') throw malformed('must be a string', 'checkpointNote');
  const proofLines = req.proof.map((h) => base64Encode(h) + '\n').join('');
  return `old ${req.oldSize}\n${proofLines}\n${req.checkpointNote}`;
}

/**
 * Parses a request body (bytes or text). Strict: valid UTF-8, `\n` line ends, canonical base64
 * hashes of 32 bytes, at most 63 of them, none when the old size is 0. The checkpoint note is
 * returned as is; the witness parses and verifies it.
 */
export function parseAddCheckpointRequest(body: Uint8Array | string): AddCheckpointRequest {
  const text = typeof body === 'string' ? body : utf8Decode(body);
  if (text === undefined) throw malformed('body is not valid UTF-8');
  const firstEnd = text.indexOf('\n');
  const match = firstEnd < 0 ? null : OLD_LINE.exec(text.slice(0, firstEnd));
  if (!match) throw malformed('first line must be "old <size>" in decimal without leading zeros', 'old');
  const oldSize = Number(match[1]);
  if (!Number.isSafeInteger(oldSize)) throw malformed('old size is larger than 2^53-1', 'old');
  const proof: Uint8Array[] = [];
  let at = firstEnd + 1;
  for (;;) {
    const end = text.indexOf('\n', at);
    if (end < 0) throw malformed('no blank line before the checkpoint', 'proof');
    if (end === at) break;
    if (proof.length === MAX_PROOF_LINES) throw malformed(`more than ${MAX_PROOF_LINES} proof lines`, 'proof');
    const hash = base64Decode(text.slice(at, end));
    if (!hash || hash.length !== HASH_SIZE) throw malformed('proof line must be canonical base64 of 32 bytes', `proof[${proof.length}]`);
    proof.push(hash);
    at = end + 1;
  }
  if (oldSize === 0 && proof.length > 0) throw new WitnessError(400, 'bad-old-size', 'the proof must be empty when the old size is 0', 'proof');
  return { oldSize, proof, checkpointNote: text.slice(at + 1) };
}

/** The 409 body: the latest cosigned size in decimal and a newline. */
export function formatSizeBody(size: number): string {
  checkSize(size, 'size');
  return `${size}\n`;
}

/** Parses a 409 body; undefined if it is not exactly `<decimal>\n` with a safe integer. */
export function parseSizeBody(body: string): number | undefined {
  if (!SIZE_BODY.test(body)) return undefined;
  const n = Number(body.slice(0, -1));
  return Number.isSafeInteger(n) ? n : undefined;
}

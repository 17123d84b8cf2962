/**
 * C2SP tlog-proof files (spec/log.md "Offline proof file"): parse and verify against the log key
 * and a leaf hash. Browser-safe.
 */
import { LedgerError } from '../errors.js';
import { defaultHasher, verifyInclusion } from '../merkle/index.js';
import { openCheckpoint, type Checkpoint, type Verifier } from '../note/index.js';
import { fromBase64 } from '../records/index.js';

export const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1';

export interface TlogProof {
  extra?: Uint8Array;
  index: number;
  proof: Uint8Array[];
  checkpoint: string;
}

function bad(message: string): never {
  throw new LedgerError('bad-tlog-proof', message, 'proof');
}

export function parseTlogProof(text: string): TlogProof {
  const sep = text.indexOf('\n\n');
  if (sep < 0) bad('missing the blank line before the checkpoint');
  const lines = text.slice(0, sep).split('\n');
  if (lines.shift() !== TLOG_PROOF_HEADER) bad(`must start with ${TLOG_PROOF_HEADER}`);
  let extra: Uint8Array | undefined;
  if (lines[0]?.startsWith('extra ')) extra = fromBase64(lines.shift()!.slice(6)) ?? bad('extra is not base64');
  const m = /^index (0|[1-9][0-9]*)$/.exec(lines.shift() ?? '');
  if (!m || !Number.isSafeInteger(Number(m[1]))) bad('missing "index <i>" line');
  const proof = lines.map((l, i) => {
    const h = fromBase64(l);
    if (!h || h.length !== 32) bad(`proof line ${i + 1} is not a base64 32-byte hash`);
    return h;
  });
  return { extra, index: Number(m[1]), proof, checkpoint: text.slice(sep + 2) };
}

/** Verifies the checkpoint signature and that `leafHash` is at `index` in it. */
export function verifyTlogProof(text: string, leafHash: Uint8Array, verifier: Verifier): { index: number; checkpoint: Checkpoint } {
  const p = parseTlogProof(text);
  const { checkpoint } = openCheckpoint(p.checkpoint, verifier);
  if (p.index >= checkpoint.size) bad(`index ${p.index} is not below checkpoint size ${checkpoint.size}`);
  verifyInclusion(defaultHasher, p.index, checkpoint.size, leafHash, p.proof, checkpoint.rootHash);
  return { index: p.index, checkpoint };
}

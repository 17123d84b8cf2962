/**
 * What monitors (`pvl watch`, `pvl audit`) trust and what they compare:
 * - trust flags: `--witness VKEY[@URL]` (repeatable), `--quorum K`, `--policy FILE` (spec/cli.md);
 * - split-view detection: the log's checkpoint against each witness's latest cosigned one (its
 *   monitoring endpoint) and a saved one; inconsistent pairs become evidence files
 *   (spec/witness.md, "Split-view evidence").
 */
import { mkdir, readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { LedgerError } from '../errors.js';
import { CompactRange, TILE_WIDTH, defaultHasher } from '../merkle/index.js';
import { type LedgerClient, type SignedCheckpoint, type SplitViewEvidence, makeEvidence, provesConsistency, trustPolicyFrom } from '../client/index.js';
import type { TrustPolicy } from '../note/index.js';
import { nodeEd25519Verify } from '../platform/node-signer.js';
import { fetchWitnessedCheckpoint } from '../witness/client.js';
import { writeFileAtomic } from './checkpoint-file.js';
import { isInlineVerifierKey } from './keys.js';
import { UsageError } from './output.js';

export interface TrustFlags {
  vkey: string;
  witness?: string[];
  quorum?: string;
  policy?: string;
}

export interface Trust {
  /** The log verifier key text. */
  vkey: string;
  /** Undefined when only the log key is trusted. */
  policy: TrustPolicy | undefined;
  /** Monitoring prefixes of witnesses to compare checkpoints with. */
  witnessUrls: string[];
}

/** A log checkpoint that split views were found against: exit code 3 for audit. */
export class SplitViewError extends LedgerError {
  constructor(
    readonly files: string[],
    message: string,
  ) {
    super('split-view', message);
  }
}

export function addTrustOptions(cmd: Command): Command {
  return cmd
    .option('--witness <vkey[@url]>', 'witness cosigner key to require (repeatable); @URL also compares with its checkpoints', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--quorum <k>', 'how many --witness cosignatures a checkpoint needs (default: all)')
    .option('--policy <file>', 'C2SP tlog-policy file (log key, witnesses, quorum) instead of --witness/--quorum');
}

/** `VKEY@URL` → [VKEY, URL]; vkeys never contain '@'. */
function splitWitnessFlag(text: string): [string, string | undefined] {
  const at = text.indexOf('@');
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

export async function loadTrust(flags: TrustFlags): Promise<Trust> {
  const vkey = isInlineVerifierKey(flags.vkey) ? flags.vkey.trim() : (await readFile(flags.vkey, 'utf8')).trim();
  const pairs = (flags.witness ?? []).map(splitWitnessFlag);
  if (flags.quorum !== undefined && !/^[0-9]{1,4}$/.test(flags.quorum)) throw new UsageError(`--quorum must be a whole number, got ${JSON.stringify(flags.quorum)}`);
  const policyText = flags.policy === undefined ? undefined : await readFile(flags.policy, 'utf8');
  const policy = trustPolicyFrom({ vkey, witnesses: pairs.map(([k]) => k), quorum: flags.quorum === undefined ? undefined : Number(flags.quorum), policyText }, nodeEd25519Verify);
  const fromFlags = pairs.map(([, url]) => url).filter((u): u is string => u !== undefined);
  const fromPolicy = flags.policy ? (policy?.witnesses ?? []).map((w) => w.url).filter((u): u is string => u !== undefined) : [];
  return { vkey, policy, witnessUrls: [...fromFlags, ...fromPolicy] };
}

export interface Seen extends SignedCheckpoint {
  source: string;
}

/**
 * Each witness's latest cosigned checkpoint of `origin` that verifies under the log key alone
 * (a witness's word is not needed to accuse the log: its signature is). Unreachable witnesses
 * and unsigned answers are skipped with a warning.
 */
export async function witnessViews(client: LedgerClient, urls: string[], origin: string, timeoutMs: number, warn: (m: string) => void): Promise<Seen[]> {
  const views = await Promise.all(
    urls.map(async (url): Promise<Seen | undefined> => {
      try {
        const note = await fetchWitnessedCheckpoint(url, origin, timeoutMs);
        return note === undefined ? undefined : { ...client.openLogSigned(note), source: `witness ${url}` };
      } catch (e) {
        warn(`witness ${url}: ${(e as Error).message}`);
        return undefined;
      }
    }),
  );
  return views.filter((v): v is Seen => v !== undefined);
}

/**
 * The views inconsistent with the log's own checkpoint, as evidence. Only views no larger than
 * the log's are judged: a witness may have cosigned a newer checkpoint the log has not yet
 * published, which the log's proof endpoint cannot reach. `prefixRoot(size)` (the root of the
 * log's first `size` entries, when the caller has them) makes prefix evidence conclusive.
 */
export async function findSplitViews(
  client: LedgerClient,
  vkey: string,
  log: Seen,
  others: Seen[],
  prefixRoot?: (size: number) => Promise<Uint8Array | undefined>,
): Promise<SplitViewEvidence[]> {
  const found: SplitViewEvidence[] = [];
  for (const other of others) {
    if (other.checkpoint.size > log.checkpoint.size) continue;
    const sameSize = other.checkpoint.size === log.checkpoint.size;
    const proof = sameSize || other.checkpoint.size === 0 ? [] : await client.consistencyProof(other.checkpoint.size, log.checkpoint.size);
    if (provesConsistency(other.checkpoint, log.checkpoint, proof)) continue;
    const prefix = sameSize ? undefined : await prefixRoot?.(other.checkpoint.size);
    found.push(makeEvidence(vkey, other, log, sameSize ? undefined : proof, prefix));
  }
  return found;
}

/**
 * The root of the first `size` entries of the log's tree `at`, from its entry bundles (the
 * consistency proof in the evidence is what makes this root trustworthy, not the download).
 */
export async function prefixRootFromEntries(client: LedgerClient, at: SignedCheckpoint, size: number): Promise<Uint8Array | undefined> {
  if (size === 0 || size > at.checkpoint.size) return undefined;
  const range = new CompactRange(defaultHasher);
  for (let n = 0, index = 0; n * TILE_WIDTH < size; n++) {
    for (const entry of await client.entryBundle(n, at.checkpoint.size)) {
      if (index++ >= size) break;
      range.push(defaultHasher.hashLeaf(entry));
    }
  }
  return range.root();
}

/** Writes each evidence document as `<dir>/<split-view|rollback>-<origin>-<size>-<size>.json`; returns the paths. */
export async function saveEvidence(dir: string, evidence: SplitViewEvidence[]): Promise<string[]> {
  const paths: string[] = [];
  await mkdir(dir, { recursive: true });
  for (const ev of evidence) {
    const name = `${ev.kind === 'rollback' ? 'rollback' : 'split-view'}-${ev.origin.replace(/[^A-Za-z0-9._-]+/g, '_')}-${ev.first.size}-${ev.second.size}.json`;
    const path = `${dir.replace(/\/+$/, '')}/${name}`;
    await writeFileAtomic(path, JSON.stringify(ev, null, 2) + '\n');
    paths.push(path);
  }
  return paths;
}

export interface SplitViewCheck {
  server: string;
  vkey: string;
  witnessUrls: string[];
  /** Signed checkpoint notes seen earlier (saved file, watch state), by source. */
  saved: Array<{ source: string; note: string }>;
  evidenceDir: string;
  timeoutMs: number;
}

/**
 * Compares the log's checkpoint (judged by the log key alone, so an unwitnessed fork is still
 * caught) with the witnesses' and the saved views; saves evidence and throws SplitViewError on
 * any inconsistency. Prefix roots come from the log's entry bundles.
 */
export async function detectSplitViews(client: LedgerClient, check: SplitViewCheck): Promise<void> {
  const log: Seen = { ...client.openLogSigned(await (await client.request('/checkpoint')).text()), source: `log ${check.server}` };
  const warn = (m: string) => process.stderr.write(`pvl: ${m}\n`);
  const others = await witnessViews(client, check.witnessUrls, log.checkpoint.origin, check.timeoutMs, warn);
  for (const s of check.saved) others.push({ ...client.openLogSigned(s.note), source: s.source });
  const evidence = await findSplitViews(client, check.vkey, log, others, (size) => prefixRootFromEntries(client, log, size));
  if (evidence.length === 0) return;
  const paths = await saveEvidence(check.evidenceDir, evidence);
  throw new SplitViewError(paths, describeEvidence(evidence, paths));
}

/** The one-line report of saved evidence. */
export function describeEvidence(evidence: SplitViewEvidence[], paths: string[]): string {
  return evidence.map((ev, i) => `split view: ${ev.first.source} (size ${ev.first.size}) and ${ev.second.source} (size ${ev.second.size}) are inconsistent [${ev.kind}]; evidence saved to ${paths[i]}`).join('\n');
}

/**
 * The verifier's identity trust policy on the command line (`--trust FILE`, spec/cli.md): read
 * the file, collect creator claims while the log is replayed, fetch the evidence the file asks
 * for, and say who is behind a grant.
 */
import { readFile } from 'node:fs/promises';
import {
  type IdentityEvidenceReport,
  type IdentityTrustPolicy,
  CreatorDirectory,
  EvidenceChecker,
  TrustPolicyError,
  addEvidence,
  gatherEvidence,
  parseTrustPolicy,
  trustViewOf,
} from '../identity/index.js';
import type { ConsentPolicy, IdentityEvidence, IdentityLevel, TrustView } from '../policy/index.js';
import type { KeyRef, ParsedRecord } from '../records/index.js';
import { type IdentityFinding, type LedgerClient, whoIsBehind } from '../client/index.js';
import type { Checkpoint } from '../note/index.js';
import { UsageError } from './output.js';

export interface IdentityTrust {
  policy: IdentityTrustPolicy;
  /** Made before the replay, filled with evidence after it (the ConsentPolicy holds it from the start). */
  view: TrustView & { backed: Set<KeyRef>; evidence: Map<KeyRef, IdentityEvidence> };
  creators: CreatorDirectory;
}

/** Reads --trust FILE; a malformed file is a usage error naming the file and line. */
export async function loadIdentityTrust(file: string | undefined): Promise<IdentityTrust | undefined> {
  if (file === undefined) return undefined;
  let policy: IdentityTrustPolicy;
  try {
    policy = parseTrustPolicy(await readFile(file, 'utf8'));
  } catch (e) {
    if (e instanceof TrustPolicyError) throw new UsageError(`--trust ${file}: ${e.message}`);
    throw e;
  }
  return { policy, view: trustViewOf(policy), creators: new CreatorDirectory() };
}

/** Remembers creator records as the log is replayed (their claims are what evidence is fetched for). */
export function noteCreator(trust: IdentityTrust | undefined, index: number, record: ParsedRecord): void {
  if (trust && record.payload.type === 'creator') trust.creators.add(index, record.payload);
}

/**
 * Fetches the evidence of every identity with creator claims (once per URL) and adds what
 * verified to the trust view. `only`: just these identities (verify and watch ask about a few).
 */
export async function checkIdentityEvidence(trust: IdentityTrust, policy: ConsentPolicy, only?: Iterable<KeyRef>): Promise<IdentityEvidenceReport[]> {
  if (!trust.policy.checkDomains && !trust.policy.checkProfiles) return [];
  const identities = new Set(only ? [...only].map((k) => policy.identityOf(k)) : trust.creators.keys().map((k) => policy.identityOf(k)));
  const subjects = [...identities].flatMap((identity) => {
    const keys = policy.keysOfIdentity(identity);
    const claims = trust.creators.claimsOf(keys);
    return claims ? [{ identity, keys, claims }] : [];
  });
  const reports = await gatherEvidence(subjects, trust.policy, new EvidenceChecker());
  addEvidence(trust.view, trust.policy, reports);
  return reports;
}

export type LevelCounts = Record<IdentityLevel, number>;

export const emptyLevelCounts = (): LevelCounts => ({ attested: 0, domain: 0, profile: 0, unverified: 0 });

/** One line per evidence result: ✓ or ✗, the URL, and what was found. */
export function evidenceLines(reports: readonly IdentityEvidenceReport[]): string[] {
  return reports.flatMap((r) => r.results.map((e) => `${e.verified ? '✓' : '✗'} ${r.name ?? r.identity} ${e.kind} ${e.url}: ${e.reason}`));
}

/**
 * Who is behind the grant a use relies on, for verify and watch (no replay): the grant and the
 * use are fetched with inclusion proofs; undefined if the entry at `grantIndex` is not a grant
 * naming one of the item's identifiers.
 */
export async function consentBy(client: LedgerClient, at: Checkpoint, grantIndex: number, itemIds: readonly string[], useIndex: number, policy: IdentityTrustPolicy, checker: EvidenceChecker): Promise<IdentityFinding | undefined> {
  if (grantIndex >= at.size || useIndex >= at.size) return undefined;
  const grant = (await client.entry(grantIndex, at)).value.record.payload;
  if (grant.type !== 'consent-grant' || !grant.works.some((ids) => ids.some((id) => itemIds.includes(id)))) return undefined;
  const use = (await client.entry(useIndex, at)).value.record.payload;
  return whoIsBehind(client, at, grant.author, { index: useIndex, time: use.time }, policy, checker);
}

/** A finding in words: the name and how it was verified, or "unverified key …". */
export function describeFinding(policy: IdentityTrustPolicy, finding: IdentityFinding): string {
  switch (finding.level) {
    case 'attested':
      return `${finding.name ?? finding.key} (attested by ${policy.attesters.get(finding.by as KeyRef) ?? finding.by}; ${finding.caveat ?? 'checked here'})`;
    case 'domain':
    case 'profile':
      return `${finding.name ?? finding.key} (${finding.level} evidence checked here: ${finding.by}; the name is the creator's own claim)`;
    case 'unverified':
      return `unverified key ${finding.key}`;
  }
}

/**
 * Putting a verifier's trust policy to work: the creator claims found while replaying the log,
 * the evidence fetched for them, and the TrustView the consent policy judges with.
 */
import type { IdentityEvidence, TrustView } from '../policy/index.js';
import type { CreatorRecord, KeyRef } from '../records/index.js';
import type { EvidenceChecker, EvidenceResult } from './evidence.js';
import { type IdentityTrustPolicy, attesterKeys } from './trust-policy.js';

export interface CreatorClaims {
  /** Log index of the creator record the claims come from. */
  index: number;
  key: KeyRef;
  name?: string;
  website?: string;
  profiles?: string[];
}

/** The latest creator record of each key, as the log is replayed. */
export class CreatorDirectory {
  private readonly latest = new Map<KeyRef, CreatorClaims>();

  add(index: number, record: CreatorRecord): void {
    const { website, profiles } = record.claims ?? {};
    this.latest.set(record.author, { index, key: record.author, ...(record.name !== undefined ? { name: record.name } : {}), ...(website ? { website } : {}), ...(profiles ? { profiles } : {}) });
  }

  /** The claims of the latest creator record signed by one of an identity's keys. */
  claimsOf(keys: readonly KeyRef[]): CreatorClaims | undefined {
    let found: CreatorClaims | undefined;
    for (const key of keys) {
      const claims = this.latest.get(key);
      if (claims && (!found || claims.index > found.index)) found = claims;
    }
    return found;
  }

  /** Keys that signed creator records. */
  keys(): KeyRef[] {
    return [...this.latest.keys()];
  }
}

export interface IdentityEvidenceReport {
  identity: KeyRef;
  name?: string;
  results: EvidenceResult[];
}

/**
 * Fetches the evidence the trust policy asks for, for each identity with claims: its website's
 * well-known file (check domains) and its profile pages (check profiles).
 */
export async function gatherEvidence(
  identities: ReadonlyArray<{ identity: KeyRef; keys: readonly KeyRef[]; claims: CreatorClaims }>,
  policy: IdentityTrustPolicy,
  checker: EvidenceChecker,
): Promise<IdentityEvidenceReport[]> {
  const reports: IdentityEvidenceReport[] = new Array(identities.length);
  let next = 0;
  // A few identities at a time: a log of thousands of creators must not open thousands of connections at once.
  const worker = async () => {
    for (let at = next++; at < identities.length; at = next++) {
      const { identity, keys, claims } = identities[at];
      const checks: Array<Promise<EvidenceResult>> = [];
      if (policy.checkDomains && claims.website) checks.push(checker.checkDomain(claims.website, keys));
      if (policy.checkProfiles) for (const profile of claims.profiles ?? []) checks.push(checker.checkProfile(profile, keys));
      reports[at] = { identity, ...(claims.name !== undefined ? { name: claims.name } : {}), results: await Promise.all(checks) };
    }
  };
  await Promise.all(Array.from({ length: Math.min(EVIDENCE_CONCURRENCY, identities.length) }, worker));
  return reports;
}

/** Identities whose evidence is fetched at once. */
const EVIDENCE_CONCURRENCY = 8;

/** The TrustView for ConsentPolicy: the policy's attesters, and identities with verified evidence (a domain before a profile). */
export function trustViewOf(policy: IdentityTrustPolicy, reports: readonly IdentityEvidenceReport[] = []): TrustView & { backed: Set<KeyRef>; evidence: Map<KeyRef, IdentityEvidence> } {
  const backed = new Set<KeyRef>();
  const evidence = new Map<KeyRef, IdentityEvidence>();
  for (const report of reports) {
    const verified = report.results.find((r) => r.verified && r.kind === 'domain') ?? report.results.find((r) => r.verified);
    if (!verified) continue;
    backed.add(report.identity);
    evidence.set(report.identity, { kind: verified.kind, url: verified.url });
  }
  return { attesters: attesterKeys(policy), backed, evidence };
}

/** Fills a TrustView made before replay (so the policy could be built with it) with the evidence found after. */
export function addEvidence(view: { backed: Set<KeyRef>; evidence: Map<KeyRef, IdentityEvidence> }, policy: IdentityTrustPolicy, reports: readonly IdentityEvidenceReport[]): void {
  const found = trustViewOf(policy, reports);
  for (const key of found.backed) view.backed.add(key);
  for (const [key, e] of found.evidence) view.evidence.set(key, e);
}

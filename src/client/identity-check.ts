/**
 * Who is behind a grant, for a monitor that does not replay the whole log (`pvl verify --trust`,
 * `pvl watch --trust`): the server's GET /identities answer is a claim, so each record it names
 * is fetched with its inclusion proof and checked here — the rotation chain, the attestation by
 * an attester of the verifier's trust policy, the creator record whose website and profiles the
 * verifier then fetches itself. What cannot be proven this way is said: a revocation the server
 * leaves out would go unseen (pvl audit --trust, which replays every record, would see it).
 * Browser-safe: nothing from `node:`.
 */
import type { EvidenceChecker, IdentityTrustPolicy } from '../identity/index.js';
import type { Checkpoint } from '../note/index.js';
import type { IdentityBacking } from '../policy/index.js';
import type { KeyRef } from '../records/index.js';
import { ClientError, type LedgerClient } from './client.js';

/** GET /identities/<key> as the server answers it (spec/api.md). */
interface IdentityAnswer {
  identity: KeyRef;
  keys: Array<{ key: KeyRef; rotationIndex?: number; creatorRecord?: number }>;
  creator: { index: number } | null;
  attestations: Array<{ index: number; attester: KeyRef; revocation?: { index: number } }>;
}

export interface IdentityFinding extends IdentityBacking {
  /** What the finding rests on beyond the proofs checked here. */
  caveat?: string;
}

/** When the use happened, for attestations "in force for the use". */
export interface UseMoment {
  index: number;
  /** The use's time (logged, or the record's claim). */
  time: string;
}

const SERVER_CLAIM = 'revocations as the server reports them (pvl audit --trust checks every record)';

export async function whoIsBehind(client: LedgerClient, at: Checkpoint, author: KeyRef, use: UseMoment, trust: IdentityTrustPolicy, checker: EvidenceChecker): Promise<IdentityFinding> {
  const answer = await identityAnswer(client, author);
  if (!answer) return { key: author, level: 'unverified' };
  const keys = await provenKeys(client, at, answer, author);
  const identity = keys[0];
  for (const claimed of answer.attestations) {
    if (!trust.attesters.has(claimed.attester) || claimed.index >= use.index || (claimed.revocation && claimed.revocation.index < use.index)) continue;
    const { record } = (await client.entry(claimed.index, at)).value;
    const p = record.payload;
    if (p.type !== 'attestation' || p.author !== claimed.attester || !keys.includes(p.subject)) continue;
    if (p.validUntil !== undefined && use.time >= p.validUntil) continue;
    return { key: identity, level: 'attested', by: p.author, name: p.name, caveat: SERVER_CLAIM };
  }
  if (answer.creator && (trust.checkDomains || trust.checkProfiles)) {
    const { record } = (await client.entry(answer.creator.index, at)).value;
    const p = record.payload;
    if (p.type === 'creator' && keys.includes(p.author)) {
      const results = await Promise.all([
        ...(trust.checkDomains && p.claims?.website ? [checker.checkDomain(p.claims.website, keys)] : []),
        ...(trust.checkProfiles ? (p.claims?.profiles ?? []).map((profile) => checker.checkProfile(profile, keys)) : []),
      ]);
      const verified = results.find((r) => r.verified && r.kind === 'domain') ?? results.find((r) => r.verified);
      if (verified) return { key: identity, level: verified.kind, by: verified.url, ...(p.name !== undefined ? { name: p.name } : {}) };
    }
  }
  return { key: identity, level: 'unverified' };
}

async function identityAnswer(client: LedgerClient, key: KeyRef): Promise<IdentityAnswer | undefined> {
  try {
    return await client.getJson<IdentityAnswer>(`/identities/${key}`);
  } catch (e) {
    if (e instanceof ClientError && e.code === 'http-404') return undefined; // the log knows nothing of the key
    throw e;
  }
}

/**
 * The identity's keys up to `author`, each rotation proven: the record at `rotationIndex` is the
 * new key's creator record endorsed by the key before it. A chain that does not prove stops
 * there, so an unproven key never lends the identity its attestations.
 */
async function provenKeys(client: LedgerClient, at: Checkpoint, answer: IdentityAnswer, author: KeyRef): Promise<KeyRef[]> {
  const chain = answer.keys;
  const end = chain.findIndex((k) => k.key === author);
  if (end < 0) return [author];
  const keys: KeyRef[] = [chain[0].key];
  for (let i = 1; i <= end; i++) {
    const { key, rotationIndex } = chain[i];
    if (rotationIndex === undefined || rotationIndex >= at.size) return [author];
    const p = (await client.entry(rotationIndex, at)).value.record.payload;
    if (p.type !== 'creator' || p.author !== key || p.rotation?.from !== chain[i - 1].key) return [author];
    keys.push(key);
  }
  // Keys rotated to after the grant's key belong to the same identity, but are not needed here.
  return keys;
}

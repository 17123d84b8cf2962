/**
 * GET /identities/<key> (spec/api.md): what the log holds about who is behind a key — the
 * creator record's name and claims, the rotation chain, the attestations about it — each with
 * its log index. It is the server's claim: a verifier checks each record against the log and
 * decides for itself which attesters to trust (spec/policy.md, "Trust policy").
 */
import type { AttestationState } from '../policy/index.js';
import type { CreatorRecord, KeyRef } from '../records/index.js';
import type { RunPolicy } from './policy-facts.js';
import { parseTrusted } from './trusted.js';

export interface IdentityClaim {
  /** Labels the answer: these are the server's statements, each checkable against the log by index. */
  claim: string;
  key: KeyRef;
  identity: KeyRef;
  keys: Array<{ key: KeyRef; rotationIndex?: number; creatorRecord?: number }>;
  /** The latest creator record of the identity's keys. */
  creator: { index: number; key: KeyRef; name?: string; claims?: CreatorRecord['claims'] } | null;
  attestations: AttestationState[];
}

export const IDENTITY_CLAIM_NOTE = "the server's claim: check each record against the log by its index, and trust only the attesters your trust policy names";

export async function identityClaim(runPolicy: RunPolicy, readEntry: (index: number) => Promise<Uint8Array | undefined>, key: KeyRef): Promise<IdentityClaim | undefined> {
  const found = await runPolicy((p) => p.identityRecords(key));
  if (!found) return undefined;
  const latest = found.keys.reduce<{ key: KeyRef; creatorRecord?: number } | undefined>((best, k) => (k.creatorRecord !== undefined && (best?.creatorRecord === undefined || k.creatorRecord > best.creatorRecord) ? k : best), undefined);
  let creator: IdentityClaim['creator'] = null;
  if (latest?.creatorRecord !== undefined) {
    const entry = await readEntry(latest.creatorRecord);
    const payload = entry && parseTrusted(entry)?.payload;
    if (payload?.type === 'creator') creator = { index: latest.creatorRecord, key: payload.author, ...(payload.name !== undefined ? { name: payload.name } : {}), ...(payload.claims ? { claims: payload.claims } : {}) };
  }
  return { claim: IDENTITY_CLAIM_NOTE, key, identity: found.identity, keys: found.keys, creator, attestations: found.attestations };
}

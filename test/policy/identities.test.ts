/**
 * Identities on judgements (spec/policy.md, "Identity levels"): attestations by attesters the
 * verifier trusts, their revocation and compromisedSince, precedence of the one backed claimant,
 * and the server (no trust view) judging as before. Through the real policy and signed records.
 */
import { describe, expect, it } from 'vitest';
import { ConsentPolicy, MemoryFacts, type TrustView } from '../../src/policy/index.js';
import type { AttestationRecord, AttestationRevocationRecord, KeyRef, ParsedRecord, RecordPayload } from '../../src/records/index.js';
import { type TestKey, alice, builder1, grant, item, sha256Id, signed, testKey, use } from '../records/fixtures.js';

const NOW = '2027-06-01T00:00:00Z';
const w = sha256Id('identity work');
const squatter = testKey('squatter');
const society = testKey('collecting-society');
const stranger = testKey('stranger-attester');

function attestation(attester: TestKey, subject: TestKey, extra: Partial<AttestationRecord> = {}): AttestationRecord {
  return { type: 'attestation', v: 1, author: attester.ref, time: '2026-01-02T00:00:00Z', subject: subject.ref, role: 'creator', name: 'Alice Artist', ...extra };
}

function attestationRevocation(attester: TestKey, index: number, extra: Partial<AttestationRevocationRecord> = {}): AttestationRevocationRecord {
  return { type: 'attestation-revocation', v: 1, author: attester.ref, time: '2026-01-03T00:00:00Z', attestation: { index }, ...extra };
}

/** One log, judged by the server (no trust) and by a verifier trusting `society`. */
class Log {
  readonly records: ParsedRecord[] = [];
  readonly server = new ConsentPolicy({ facts: new MemoryFacts() });
  readonly verifier: ConsentPolicy;
  constructor(trust: TrustView = { attesters: new Set<KeyRef>([society.ref]) }) {
    this.verifier = new ConsentPolicy({ trust });
  }
  add(payload: RecordPayload, signer: TestKey): number {
    const index = this.records.length;
    const parsed = signed(payload, signer);
    const problem = this.server.admissionProblem(parsed);
    if (problem) throw problem;
    this.records.push(parsed);
    this.server.apply(index, parsed);
    this.verifier.apply(index, signed(payload, signer));
    return index;
  }
  refusal(payload: RecordPayload, signer: TestKey): string | undefined {
    return this.server.admissionProblem(signed(payload, signer))?.message;
  }
  judged(useIndex: number) {
    return { server: this.server.judgeUse(useIndex, { now: NOW })[0], verifier: this.verifier.judgeUse(useIndex, { now: NOW })[0] };
  }
}

describe('the squatter', () => {
  it('alone: consented, but the verifier sees an unverified identity', () => {
    const log = new Log();
    const g = log.add(grant(squatter, [[w]]), squatter);
    const u = log.add(use(builder1, 'm@1', [item(w, { index: g })]), builder1);
    const { server, verifier } = log.judged(u);
    expect(server.verdict).toBe('consented');
    expect(server.identity).toBeUndefined();
    expect(verifier.verdict).toBe('consented');
    expect(verifier.identity).toEqual({ key: squatter.ref, level: 'unverified' });
  });

  it('against the attested artist: the artist takes precedence and the squatter grant is wrong-author', () => {
    const log = new Log();
    const gs = log.add(grant(squatter, [[w]]), squatter);
    const ga = log.add(grant(alice, [[w]], { commercial: false }), alice);
    const a = log.add(attestation(society, alice), society);
    const viaSquatter = log.add(use(builder1, 'm@1', [item(w, { index: gs })]), builder1);
    const viaArtist = log.add(use(builder1, 'm@1', [item(w, { index: ga })]), builder1);
    expect(log.judged(viaSquatter).server.verdict).toBe('disputed'); // the server trusts no one
    const squatted = log.judged(viaSquatter).verifier;
    expect(squatted.verdict).toBe('wrong-author');
    expect(squatted.claimants).toEqual([alice.ref]);
    expect(squatted.identity).toEqual({ key: squatter.ref, level: 'unverified' });
    const own = log.judged(viaArtist).verifier;
    expect(own.verdict).toBe('consented');
    expect(own.identity).toEqual({ key: alice.ref, level: 'attested', by: society.ref, name: 'Alice Artist' });
    expect(a).toBe(2);
  });

  it('an attestation by an attester not in the policy counts for nothing', () => {
    const log = new Log();
    const gs = log.add(grant(squatter, [[w]]), squatter);
    log.add(grant(alice, [[w]]), alice);
    log.add(attestation(stranger, alice), stranger);
    log.add(attestation(stranger, squatter, { name: 'Totally Alice' }), stranger);
    const u = log.add(use(builder1, 'm@1', [item(w, { index: gs })]), builder1);
    const { verifier } = log.judged(u);
    expect(verifier.verdict).toBe('disputed');
    expect(verifier.identity).toEqual({ key: squatter.ref, level: 'unverified' });
  });

  it('domain or profile evidence the verifier checked backs an identity too', () => {
    const log = new Log({ attesters: new Set(), backed: new Set([alice.ref]), evidence: new Map([[alice.ref, { kind: 'profile', url: 'https://social.example/@alice' }]]) });
    const gs = log.add(grant(squatter, [[w]]), squatter);
    const ga = log.add(grant(alice, [[w]]), alice);
    const viaSquatter = log.add(use(builder1, 'm@1', [item(w, { index: gs })]), builder1);
    const viaArtist = log.add(use(builder1, 'm@1', [item(w, { index: ga })]), builder1);
    expect(log.judged(viaSquatter).verifier.verdict).toBe('wrong-author');
    expect(log.judged(viaArtist).verifier.identity).toEqual({ key: alice.ref, level: 'profile', by: 'https://social.example/@alice' });
  });
});

describe('attestations in force', () => {
  it('counts only for uses logged after it, before its revocation, and before validUntil', () => {
    const log = new Log();
    const ga = log.add(grant(alice, [[w]]), alice);
    const before = log.add(use(builder1, 'm@1', [item(w, { index: ga })]), builder1);
    const a = log.add(attestation(society, alice, { validUntil: '2026-09-01T00:00:00Z' }), society);
    const during = log.add(use(builder1, 'm@1', [item(w, { index: ga })]), builder1);
    const late = log.add(use(builder1, 'm@1', [item(w, { index: ga })], { time: '2026-10-01T00:00:00Z' }), builder1);
    log.add(attestationRevocation(society, a), society);
    const after = log.add(use(builder1, 'm@1', [item(w, { index: ga })]), builder1);
    expect(log.judged(before).verifier.identity?.level).toBe('unverified');
    expect(log.judged(during).verifier.identity?.level).toBe('attested');
    expect(log.judged(late).verifier.identity?.level).toBe('unverified');
    expect(log.judged(after).verifier.identity?.level).toBe('unverified');
  });

  it('revocation: only by the attester, only of an attestation, only once', () => {
    const log = new Log();
    const ga = log.add(grant(alice, [[w]]), alice);
    const a = log.add(attestation(society, alice), society);
    expect(log.refusal(attestationRevocation(stranger, a), stranger)).toMatch(/only its attester can revoke it/);
    expect(log.refusal(attestationRevocation(society, ga), society)).toMatch(/is a consent-grant record, not an attestation/);
    log.add(attestationRevocation(society, a), society);
    expect(log.refusal(attestationRevocation(society, a), society)).toMatch(/was already revoked at index 2/);
  });

  it('compromisedSince voids the subject key\'s grants from that index for verifiers trusting the attester', () => {
    const log = new Log();
    const early = log.add(grant(alice, [[sha256Id('early')]]), alice);
    const a = log.add(attestation(society, alice), society);
    const stolen = log.add(grant(alice, [[w]]), alice);
    log.add(attestationRevocation(society, a, { compromisedSince: stolen, reason: 'key stolen' }), society);
    const viaStolen = log.add(use(builder1, 'm@1', [item(w, { index: stolen })]), builder1);
    const viaEarly = log.add(use(builder1, 'm@1', [item(sha256Id('early'), { index: early })]), builder1);
    expect(log.judged(viaStolen).server.verdict).toBe('consented');
    const judged = log.judged(viaStolen).verifier;
    expect(judged.verdict).toBe('wrong-author');
    expect(judged.reason).toMatch(/declared compromised from index 2/);
    expect(judged.claimants).toEqual([]); // a void grant claims nothing
    expect(log.judged(viaEarly).verifier.verdict).toBe('consented');
  });
});

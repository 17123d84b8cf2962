/**
 * Key lifecycle (spec/policy.md §2, "Key lifecycle"): pre-rotation commitments, who may rotate a
 * committed key, and compromise declared by the committed next key — judged through the real
 * policy, in memory as verifiers keep it.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConsentPolicy, MemoryFacts } from '../../src/policy/index.js';
import { type CreatorRecord, type ParsedRecord, type RecordPayload, nextKeyCommitment, signKeyRotation } from '../../src/records/index.js';
import { type TestKey, alice, builder1, creator, grant, item, revocation, sha256Id, signed, testKey, use } from '../records/fixtures.js';

const NOW = '2027-06-01T00:00:00Z';
const w = sha256Id('lifecycle work');
const w2 = sha256Id('lifecycle work 2');
const alice2 = testKey('alice-next');
const alice3 = testKey('alice-next-next');
const thief = testKey('thief');
const builderNext = testKey('builder-1-next');

/** The commitment as spec/records.md defines it, computed independently of the code under test. */
const committed = (k: TestKey) => createHash('sha256').update(Buffer.from(k.ref.slice('ed25519:'.length), 'hex')).digest('hex');

class Log {
  readonly policy = new ConsentPolicy({ facts: new MemoryFacts() });
  readonly records: ParsedRecord[] = [];
  add(payload: RecordPayload, signer: TestKey): number {
    const index = this.records.length;
    const parsed = signed(payload, signer);
    this.records.push(parsed);
    this.policy.apply(index, parsed);
    return index;
  }
  refusal(payload: RecordPayload, signer: TestKey): { code: string; field?: string; message: string } | undefined {
    const problem = this.policy.admissionProblem(signed(payload, signer));
    return problem && { code: problem.code, field: problem.field, message: problem.message };
  }
  judgement(useIndex: number, opts: { before?: number } = {}) {
    return this.policy.judgeUse(useIndex, { now: NOW, ...opts })[0];
  }
}

/** A creator record of `to` succeeding `from`, without the old key's endorsement, committing to `next`. */
function preRotation(from: TestKey, to: TestKey, next: TestKey, extra: Partial<CreatorRecord> = {}): CreatorRecord {
  return { ...creator(to), rotation: { from: from.ref }, next: committed(next), ...extra };
}

/** 0: alice registers, committing to alice-next. */
function committedAlice(): Log {
  const log = new Log();
  log.add(creator(alice, { next: committed(alice2) }), alice);
  return log;
}

describe('the next-key commitment', () => {
  it('is the SHA-256 of the 32-byte public key', () => {
    expect(nextKeyCommitment(alice2.ref)).toBe(committed(alice2));
  });

  it('stops a stolen current key from rotating the identity, even with the old key\'s signature', () => {
    const log = committedAlice();
    const takeover: CreatorRecord = { ...creator(thief), rotation: signKeyRotation(alice.signer, alice.ref, thief.ref), next: committed(testKey('thief-next')) };
    const refusal = log.refusal(takeover, thief);
    expect(refusal).toMatchObject({ code: 'not-admissible', field: 'payload.author' });
    expect(refusal!.message).toContain(`committed to the next key with SHA-256 ${committed(alice2)}`);
    expect(refusal!.message).toContain(`the author ${thief.ref} has SHA-256 ${committed(thief)}`);
    // In a log nevertheless: no effect. The thief holds no identity and alice is not rotated.
    log.add(takeover, thief);
    expect(log.policy.identityOf(thief.ref)).toBe(thief.ref);
    expect(log.refusal(preRotation(alice, alice2, alice3), alice2)).toBeUndefined(); // the real next key still can
  });

  it('cannot be changed by the current key other than by rotating', () => {
    const log = committedAlice();
    const recommit = creator(alice, { next: committed(thief) });
    expect(log.refusal(recommit, alice)).toMatchObject({ field: 'payload.next', message: expect.stringMatching(/already committed .* changes only by rotating/) });
    log.add(recommit, alice);
    // The thief's key still does not match what counts: the first commitment.
    expect(log.refusal(preRotation(alice, thief, testKey('thief-next')), thief)?.field).toBe('payload.author');
  });

  it('lets the committed key rotate without the old key\'s signature', () => {
    const log = committedAlice();
    const g = log.add(grant(alice, [[w]]), alice);
    const rotation = preRotation(alice, alice2, alice3);
    expect(log.refusal(rotation, alice2)).toBeUndefined();
    log.add(rotation, alice2);
    expect(log.policy.identityOf(alice2.ref)).toBe(alice.ref);
    // The new key is the current one: it revokes, the old one cannot.
    expect(log.refusal(revocation(alice, { index: g }), alice)?.message).toMatch(/revoke with the new key/);
    expect(log.refusal(revocation(alice2, { index: g }), alice2)).toBeUndefined();
    // And the chain goes on: alice-next's own commitment names alice-next-next.
    expect(log.refusal(preRotation(alice2, alice3, testKey('alice-4')), alice3)).toBeUndefined();
  });

  it('must be renewed by the rotation that reveals it', () => {
    const log = committedAlice();
    const { next: _, ...withoutNext } = preRotation(alice, alice2, alice3);
    expect(log.refusal(withoutNext, alice2)).toMatchObject({ field: 'payload.next' });
  });

  it('is not needed by a legacy key, which still needs its own signature to rotate', () => {
    const log = new Log();
    log.add(creator(alice), alice);
    expect(log.refusal({ ...creator(alice2), rotation: { from: alice.ref } }, alice2)).toMatchObject({ field: 'payload.rotation.sig', message: expect.stringMatching(/committed to no next key/) });
    expect(log.refusal({ ...creator(alice2), rotation: signKeyRotation(alice.signer, alice.ref, alice2.ref) }, alice2)).toBeUndefined();
    const compromised = { ...creator(alice2), rotation: signKeyRotation(alice.signer, alice.ref, alice2.ref), compromised: { since: 0 } };
    expect(log.refusal(compromised, alice2)).toMatchObject({ field: 'payload.compromised' });
  });
});

describe('a compromise declared by the committed next key', () => {
  /**
   * 0: alice commits to alice-next; 1: alice grants w, non-commercial; 2: alice grants w2;
   * then the thief, holding alice's key: 3: grants w2 to anyone; 4: supersedes 1, commercial;
   * 5: revokes 2 at once; 6–8: uses relying on each; 9: alice-next rotates, compromised since 3.
   */
  function theft() {
    const log = committedAlice();
    const g1 = log.add(grant(alice, [[w]], { commercial: false }), alice);
    const g2 = log.add(grant(alice, [[sha256Id('revoked by thief')]]), alice);
    const stolen = log.add(grant(alice, [[w2]]), alice);
    const superseding = log.add(grant(alice, [[w]], { commercial: true, supersedes: { index: g1 } }), alice);
    log.add(revocation(alice, { index: g2 }), alice);
    const viaStolen = log.add(use(builder1, 'm@1', [item(w2, { index: stolen })]), builder1);
    const viaSuperseded = log.add(use(builder1, 'm@1', [item(w, { index: g1 })], { commercial: true }), builder1);
    const viaRevoked = log.add(use(builder1, 'm@1', [item(sha256Id('revoked by thief'), { index: g2 })]), builder1);
    const before = { viaStolen: log.judgement(viaStolen), viaSuperseded: log.judgement(viaSuperseded), viaRevoked: log.judgement(viaRevoked) };
    const declaration = log.add(preRotation(alice, alice2, alice3, { compromised: { since: stolen } }), alice2);
    return { log, stolen, superseding, viaStolen, viaSuperseded, viaRevoked, before, declaration };
  }

  it('voids the thief\'s grant: a use relying on it becomes wrong-author, naming the declaration', () => {
    const { log, viaStolen, stolen, before, declaration } = theft();
    expect(before.viaStolen.verdict).toBe('consented');
    const after = log.judgement(viaStolen);
    expect(after.verdict).toBe('wrong-author');
    expect(after.reason).toContain(`grant ${stolen} is signed by ${alice.ref}, declared compromised from index ${stolen}`);
    expect(after.reason).toContain(`at index ${declaration}`);
    expect(after.claimants).toEqual([]); // the void grant claims nothing
  });

  it('voids the thief\'s supersession and revocation', () => {
    const { log, viaSuperseded, viaRevoked, superseding, before } = theft();
    expect(before.viaSuperseded.verdict).toBe('consented'); // the thief's terms allowed commercial use
    expect(before.viaRevoked.verdict).toBe('revoked');
    const superseded = log.judgement(viaSuperseded);
    expect(superseded.verdict).toBe('wrong-author');
    expect(superseded.reason).toContain(`grant ${superseding} is signed by ${alice.ref}, declared compromised`);
    expect(log.judgement(viaRevoked).verdict).toBe('consented');
  });

  it('does not change a verdict bounded before the declaration (what /stats tallies)', () => {
    const { log, viaStolen } = theft();
    expect(log.judgement(viaStolen, { before: viaStolen }).verdict).toBe('consented');
  });

  it('leaves records before `since` alone', () => {
    const log = committedAlice();
    const honest = log.add(grant(alice, [[w]]), alice);
    const u = log.add(use(builder1, 'm@1', [item(w, { index: honest })]), builder1);
    log.add(preRotation(alice, alice2, alice3, { compromised: { since: u } }), alice2);
    expect(log.judgement(u).verdict).toBe('consented');
  });

  it('may not reach past its own log index', () => {
    const log = committedAlice();
    expect(log.refusal(preRotation(alice, alice2, alice3, { compromised: { since: 2 } }), alice2)).toMatchObject({ field: 'payload.compromised.since', message: expect.stringContaining('past this record\'s own log index (1)') });
    expect(log.refusal(preRotation(alice, alice2, alice3, { compromised: { since: 1 } }), alice2)).toBeUndefined();
  });

  it('flags the uses a compromised builder key declared, keeping their verdicts', () => {
    const log = new Log();
    log.add(creator(builder1, { next: committed(builderNext) }), builder1);
    const g = log.add(grant(alice, [[w]]), alice);
    const honest = log.add(use(builder1, 'm@1', [item(w, { index: g })]), builder1);
    const forged = log.add(use(builder1, 'm@2', [item(w, { index: g })]), builder1);
    const declaration = log.add(preRotation(builder1, builderNext, testKey('builder-1-next-next'), { compromised: { since: forged } }), builderNext);
    expect(log.judgement(honest).compromisedKey).toBeUndefined();
    const flagged = log.judgement(forged);
    expect(flagged.verdict).toBe('consented');
    expect(flagged.compromisedKey).toEqual({ key: builder1.ref, since: forged, recordIndex: declaration });
    expect(log.judgement(forged, { before: forged }).compromisedKey).toBeUndefined();
    // The thief keeps declaring with the stolen key after the rotation: flagged too.
    const later = log.add(use(builder1, 'm@3', [item(w, { index: g })]), builder1);
    expect(log.judgement(later).compromisedKey).toEqual({ key: builder1.ref, since: forged, recordIndex: declaration });
  });
});

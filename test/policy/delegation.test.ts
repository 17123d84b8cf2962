/**
 * Rights holders and agents, and dispute rulings (spec/policy.md §2, Delegation and Rulings):
 * what a delegation lets an agent do for a creator, what ending it does, and how a ruling by an
 * attester settles a dispute for a verifier that trusts the attester and for no other. Each
 * expectation is a row of the "Delegation and rulings" table of spec/policy.md, judged through
 * the real policy.
 */
import { describe, expect, it } from 'vitest';
import { ConsentPolicy, MemoryFacts, type TrustView } from '../../src/policy/index.js';
import type { DelegationRecord, DelegationRevocationRecord, DisputeRulingRecord, KeyRef, ParsedRecord, RecordPayload } from '../../src/records/index.js';
import { type TestKey, T0, alice, bob, builder1, carol, grant, item, revocation, sha256Id, signed, testKey, use } from '../records/fixtures.js';

const NOW = '2027-06-01T00:00:00Z';
const w = sha256Id('delegated work');
const other = sha256Id('a work the delegation leaves out');
const publisher = testKey('publisher');
const attester = testKey('collecting-society');
const stranger = testKey('stranger-attester');

class Log {
  readonly policy: ConsentPolicy;
  constructor(trust?: TrustView) {
    this.policy = new ConsentPolicy({ facts: new MemoryFacts(), trust });
  }
  private size = 0;
  add(payload: RecordPayload, signer: TestKey): number {
    const index = this.size++;
    this.policy.apply(index, signed(payload, signer));
    return index;
  }
  /** Adds the record only if the server would admit it; the refusal otherwise (the log unchanged). */
  submit(payload: RecordPayload, signer: TestKey): { index: number } | { field?: string; message: string } {
    const problem = this.policy.admissionProblem(signed(payload, signer));
    // The message without the field it starts with (RecordError's form), which `field` gives.
    return problem ? { field: problem.field, message: problem.message.replace(`${problem.field}: `, '') } : { index: this.add(payload, signer) };
  }
  judgement(useIndex: number) {
    return this.policy.judgeUse(useIndex, { now: NOW })[0];
  }
}

function delegation(creator: TestKey, agent: TestKey, extra: Partial<DelegationRecord> = {}): DelegationRecord {
  return { type: 'delegation', v: 1, author: creator.ref, time: T0, agent: agent.ref, role: 'rights-holder', powers: ['grant', 'revoke'], works: 'all', ...extra };
}

function endDelegation(creator: TestKey, index: number): DelegationRevocationRecord {
  return { type: 'delegation-revocation', v: 1, author: creator.ref, time: T0, delegation: { index } };
}

function ruling(by: TestKey, owner: KeyRef): DisputeRulingRecord {
  return { type: 'dispute-ruling', v: 1, author: by.ref, time: T0, work: [w], owner, statement: 'registered with the society since 2019' };
}

const onBehalfOfAlice = { onBehalfOf: alice.ref };

describe('a grant on the creator’s behalf', () => {
  it('with a delegation in force: the use is consented, the grant claims for the creator, and the judgement names who granted', () => {
    const log = new Log();
    const d = log.add(delegation(alice, publisher), alice);
    const g = log.submit(grant(publisher, [[w]], onBehalfOfAlice), publisher);
    expect(g).toEqual({ index: 1 });
    const u = log.add(use(builder1, 'm@1', [item(w, { index: 1 })]), builder1);
    const j = log.judgement(u);
    expect(j).toMatchObject({ verdict: 'consented', consentIndex: 1, claimants: [alice.ref], grantedBy: { agent: publisher.ref, role: 'rights-holder', delegationIndex: d } });
    expect(j.reason).toBe(`grant 1 covers this use (granted for ${alice.ref} by rights holder ${publisher.ref} under delegation ${d})`);
    expect(log.policy.worksOf(alice.ref)).toEqual([w]);
    expect(log.policy.worksOf(publisher.ref)).toEqual([]);
  });

  it('a grant by the creator itself carries no grantedBy', () => {
    const log = new Log();
    log.add(grant(alice, [[w]]), alice);
    const u = log.add(use(builder1, 'm@1', [item(w, { index: 0 })]), builder1);
    expect(log.judgement(u).grantedBy).toBeUndefined();
  });

  it('without a delegation: refused with the reason, and the log is unchanged', () => {
    const log = new Log();
    expect(log.submit(grant(publisher, [[w]], onBehalfOfAlice), publisher)).toEqual({
      field: 'payload.onBehalfOf',
      message: `${alice.ref} has delegated nothing to ${publisher.ref}: ${publisher.ref} cannot grant on its behalf`,
    });
    expect(log.policy.size).toBe(0);
  });

  it('after the delegation is revoked: new grants are refused, those made before stay in force', () => {
    const log = new Log();
    const d = log.add(delegation(alice, publisher), alice);
    const before = log.add(grant(publisher, [[w]], onBehalfOfAlice), publisher);
    const end = log.add(endDelegation(alice, d), alice);
    const refused = log.submit(grant(publisher, [[other]], onBehalfOfAlice), publisher);
    expect(refused).toEqual({ field: 'payload.onBehalfOf', message: `delegation ${d} from ${alice.ref} was revoked at index ${end}: ${publisher.ref} cannot grant on its behalf` });
    const u = log.add(use(builder1, 'm@1', [item(w, { index: before })]), builder1);
    expect(log.judgement(u)).toMatchObject({ verdict: 'consented', grantedBy: { delegationIndex: d } });
  });

  it('a delegation limited to some works refuses a grant naming another', () => {
    const log = new Log();
    const d = log.add(delegation(alice, publisher, { works: [[w]] }), alice);
    expect(log.submit(grant(publisher, [[w], [other]], onBehalfOfAlice), publisher)).toEqual({
      field: 'payload.onBehalfOf',
      message: `delegation ${d} from ${alice.ref} does not cover ${other}: ${publisher.ref} cannot grant on its behalf`,
    });
    expect(log.submit(grant(publisher, [[w]], onBehalfOfAlice), publisher)).toEqual({ index: 1 });
  });

  it('an expired delegation, or one without the power to grant, is refused', () => {
    const log = new Log();
    log.add(delegation(alice, publisher, { validUntil: '2026-01-02T00:00:00Z' }), alice);
    expect(log.submit(grant(publisher, [[w]], { ...onBehalfOfAlice, time: '2026-02-01T00:00:00Z' }), publisher)).toMatchObject({ message: expect.stringMatching(/was valid until 2026-01-02T00:00:00Z; the record claims 2026-02-01T00:00:00Z/) });
    const revokeOnly = new Log();
    revokeOnly.add(delegation(alice, publisher, { powers: ['revoke'] }), alice);
    expect(revokeOnly.submit(grant(publisher, [[w]], onBehalfOfAlice), publisher)).toMatchObject({ message: expect.stringMatching(/gives no power to grant/) });
  });

  it('in a log nevertheless (another server), a grant without a delegation claims nothing and is wrong-author', () => {
    const log = new Log();
    log.add(grant(alice, [[w]]), alice);
    const forged = log.add(grant(publisher, [[w]], onBehalfOfAlice), publisher);
    const u = log.add(use(builder1, 'm@1', [item(w, { index: forged })]), builder1);
    const j = log.judgement(u);
    expect(j.verdict).toBe('wrong-author');
    expect(j.claimants).toEqual([alice.ref]);
    expect(j.reason).toMatch(/has delegated nothing to/);
  });

  it('the creator can revoke a grant made on its behalf', () => {
    const log = new Log();
    log.add(delegation(alice, publisher), alice);
    const g = log.add(grant(publisher, [[w]], onBehalfOfAlice), publisher);
    expect(log.submit(revocation(alice, { index: g }), alice)).toEqual({ index: 2 });
    const u = log.add(use(builder1, 'm@1', [item(w, { index: g })]), builder1);
    expect(log.judgement(u).verdict).toBe('revoked');
  });
});

describe('an agent revoking', () => {
  it('with the power to revoke, revokes the creator’s own grant on its behalf', () => {
    const log = new Log();
    const own = log.add(grant(alice, [[w]]), alice);
    log.add(delegation(alice, publisher, { powers: ['revoke'], role: 'agent' }), alice);
    expect(log.submit({ ...revocation(publisher, { index: own }), ...onBehalfOfAlice }, publisher)).toEqual({ index: 2 });
    const u = log.add(use(builder1, 'm@1', [item(w, { index: own })]), builder1);
    expect(log.judgement(u).verdict).toBe('revoked');
  });

  it('without the power to revoke, or without onBehalfOf, is refused', () => {
    const log = new Log();
    const own = log.add(grant(alice, [[w]]), alice);
    log.add(delegation(alice, publisher, { powers: ['grant'] }), alice);
    expect(log.submit({ ...revocation(publisher, { index: own }), ...onBehalfOfAlice }, publisher)).toEqual({
      field: 'payload.grant',
      message: `delegation 1 from ${alice.ref} gives no power to revoke: ${publisher.ref} cannot revoke grant ${own} on its behalf`,
    });
    expect(log.submit(revocation(publisher, { index: own }), publisher)).toMatchObject({ message: `grant ${own} is by ${alice.ref}; only its creator can revoke it` });
  });

  it('can always withdraw a grant it made itself, even once the delegation has ended', () => {
    const log = new Log();
    const d = log.add(delegation(alice, publisher, { powers: ['grant'] }), alice);
    const g = log.add(grant(publisher, [[w]], onBehalfOfAlice), publisher);
    log.add(endDelegation(alice, d), alice);
    expect(log.submit({ ...revocation(publisher, { index: g }), ...onBehalfOfAlice }, publisher)).toEqual({ index: 3 });
  });
});

describe('delegation records', () => {
  it('only the delegating creator can end a delegation, once', () => {
    const log = new Log();
    const d = log.add(delegation(alice, publisher), alice);
    expect(log.submit(endDelegation(bob, d), bob)).toEqual({ field: 'payload.delegation', message: `delegation ${d} is by ${alice.ref}; only that creator can revoke it` });
    log.add(endDelegation(alice, d), alice);
    expect(log.submit(endDelegation(alice, d), alice)).toMatchObject({ message: `delegation ${d} was already revoked at index 1` });
  });
});

describe('a dispute ruling', () => {
  /** 0: bob (a squatter) grants w; 1: alice grants w; 2: `by` rules alice owns w; 3: a use relying on alice's grant. */
  function disputedThenRuled(trust: TrustView | undefined, by: TestKey) {
    const log = new Log(trust);
    log.add(grant(bob, [[w]]), bob);
    const own = log.add(grant(alice, [[w]]), alice);
    log.add(ruling(by, alice.ref), by);
    const u = log.add(use(builder1, 'm@1', [item(w, { index: own })]), builder1);
    const squatter = log.add(use(builder1, 'm@1', [item(w, { index: 0 })]), builder1);
    return { log, u, squatter };
  }
  const trusting = { attesters: new Set([attester.ref]) };

  it('by an attester the verifier trusts settles the dispute for the owner', () => {
    const { log, u, squatter } = disputedThenRuled(trusting, attester);
    expect(log.judgement(u)).toMatchObject({ verdict: 'consented', claimants: [alice.ref] });
    expect(log.judgement(squatter)).toMatchObject({ verdict: 'wrong-author', claimants: [alice.ref] });
  });

  it('by an attester the verifier does not trust changes nothing', () => {
    const { log, u } = disputedThenRuled(trusting, stranger);
    expect(log.judgement(u)).toMatchObject({ verdict: 'disputed', claimants: [bob.ref, alice.ref] });
  });

  it('without a trust view (the server) changes nothing, and is listed as a claim', () => {
    const { log, u } = disputedThenRuled(undefined, attester);
    expect(log.judgement(u).verdict).toBe('disputed');
    expect(log.policy.rulingsOfWork(w)).toEqual([{ index: 2, author: attester.ref, owner: alice.ref, work: [w] }]);
  });

  it('logged after the use changes nothing for it; the latest trusted ruling wins', () => {
    const log = new Log(trusting);
    log.add(grant(bob, [[w]]), bob);
    const own = log.add(grant(alice, [[w]]), alice);
    const early = log.add(use(builder1, 'm@1', [item(w, { index: own })]), builder1);
    log.add(ruling(attester, bob.ref), attester);
    log.add(ruling(attester, alice.ref), attester);
    const late = log.add(use(builder1, 'm@1', [item(w, { index: own })]), builder1);
    expect(log.judgement(early).verdict).toBe('disputed');
    expect(log.judgement(late).verdict).toBe('consented');
  });
});

describe('claim notices', () => {
  it('a grant naming a work another identity claims tells that identity; a grant on its own behalf does not', () => {
    const log = new Log();
    log.add(grant(alice, [[w]]), alice);
    log.add(delegation(alice, publisher), alice);
    const forAlice = log.add(grant(publisher, [[w]], onBehalfOfAlice), publisher);
    const squat = log.add(grant(carol, [[w], [other]]), carol);
    expect(log.policy.claimsBefore(forAlice)).toEqual([]);
    expect(log.policy.claimsBefore(squat)).toEqual([{ work: w, claimedBy: [alice.ref] }]);
  });

  it('a claim withdrawn before the grant is not told', () => {
    const log = new Log();
    const g = log.add(grant(alice, [[w]]), alice);
    log.add(revocation(alice, { index: g }), alice);
    const squat = log.add(grant(carol, [[w]]), carol);
    expect(log.policy.claimsBefore(squat)).toEqual([]);
  });
});

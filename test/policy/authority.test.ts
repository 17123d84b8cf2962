/**
 * Authority over grants and withdrawn claims (spec/policy.md §2, rules 2, 3, 9 and §5): what a
 * rotated-away key can no longer do, a creator withdrawing a grant giving up its claim, revoking
 * a superseded grant, and retirements logged before the use. Each expectation is one of the
 * rows of the "Authority, withdrawn claims and retirements" table of spec/policy.md, judged
 * through the real policy; the facts are checked as the server keeps them too.
 */
import { describe, expect, it } from 'vitest';
import { ConsentPolicy, MemoryFacts, type Verdict } from '../../src/policy/index.js';
import type { KeyRef, ParsedRecord, RecordPayload } from '../../src/records/index.js';
import { type TestKey, alice, bob, builder1, grant, item, phashId, retirement, revocation, rotation, sha256Id, signed, testKey, use } from '../records/fixtures.js';

const NOW = '2027-06-01T00:00:00Z';
const w = sha256Id('authority work');
const alice2 = testKey('alice-2');

class Log {
  readonly facts = new MemoryFacts();
  readonly policy = new ConsentPolicy({ facts: this.facts });
  readonly records: ParsedRecord[] = [];
  add(payload: RecordPayload, signer: TestKey): number {
    const index = this.records.length;
    const parsed = signed(payload, signer);
    this.records.push(parsed);
    this.policy.apply(index, parsed);
    return index;
  }
  /** Why the server would refuse the record now (undefined: it would be admitted). */
  refusal(payload: RecordPayload, signer: TestKey): { field?: string; message: string } | undefined {
    const problem = this.policy.admissionProblem(signed(payload, signer));
    return problem && { field: problem.field, message: problem.message };
  }
  verdict(useIndex: number, now = NOW): Verdict {
    return this.policy.judgeUse(useIndex, { now })[0].verdict;
  }
  judgement(useIndex: number, now = NOW) {
    return this.policy.judgeUse(useIndex, { now })[0];
  }
}

describe('a rotated-away key', () => {
  /** 0: alice grants w; 1: alice-2 rotates from alice; 2 (by `by`): supersedes 0, non-commercial. */
  function rotatedThenSuperseded(by: TestKey) {
    const log = new Log();
    const g0 = log.add(grant(alice, [[w]]), alice);
    log.add(rotation(alice, alice2), alice2);
    const replacement = grant(by, [[w]], { commercial: false, supersedes: { index: g0 } });
    return { log, g0, replacement };
  }

  it('cannot supersede: refused at admission, and in a log nevertheless it replaces nothing', () => {
    const { log, g0, replacement } = rotatedThenSuperseded(alice);
    expect(log.refusal(replacement, alice)).toEqual({ field: 'payload.supersedes', message: expect.stringMatching(/was rotated to .* at index 1; supersede with the new key/) });
    const g2 = log.add(replacement, alice);
    expect(log.policy.grant(g0)!.supersededBy).toBeUndefined();
    const u = log.add(use(builder1, 'm@1', [item(w, { index: g0 })], { commercial: true }), builder1);
    expect(log.verdict(u)).toBe('consented'); // alice's terms stand: the old key changed nothing
    const viaThief = log.add(use(builder1, 'm@1', [item(w, { index: g2 })]), builder1);
    expect(log.verdict(viaThief)).toBe('wrong-author');
  });

  it('does not block the current key from superseding the grant', () => {
    const { log, g0, replacement } = rotatedThenSuperseded(alice);
    log.add(replacement, alice);
    const byCurrent = grant(alice2, [[w]], { commercial: false, supersedes: { index: g0 } });
    expect(log.refusal(byCurrent, alice2)).toBeUndefined();
    log.add(byCurrent, alice2);
    const u = log.add(use(builder1, 'm@1', [item(w, { index: g0 })], { commercial: true }), builder1);
    expect(log.verdict(u)).toBe('commercial-not-allowed');
  });

  it('cannot revoke (refused at admission; no effect in a log)', () => {
    const log = new Log();
    const g0 = log.add(grant(alice, [[w]]), alice);
    log.add(rotation(alice, alice2), alice2);
    expect(log.refusal(revocation(alice, { index: g0 }), alice)?.message).toMatch(/revoke with the new key/);
    log.add(revocation(alice, { index: g0 }), alice);
    const u = log.add(use(builder1, 'm@1', [item(w, { index: g0 })]), builder1);
    expect(log.verdict(u)).toBe('consented');
  });

  it('makes wrong-author any grant of the supersession chain it signed (facts stored under older rules)', () => {
    const { log, g0, replacement } = rotatedThenSuperseded(alice);
    const g2 = log.add(replacement, alice);
    // An older version of the policy linked the rotated key's supersession; its stored facts keep the link.
    log.facts.updateGrant({ ...log.policy.grant(g0)!, supersededBy: g2 });
    log.facts.updateGrant({ ...log.policy.grant(g2)!, supersedes: g0 });
    const u = log.add(use(builder1, 'm@1', [item(w, { index: g0 })], { commercial: true }), builder1);
    const j = log.judgement(u);
    expect(j.verdict).toBe('wrong-author');
    expect(j.reason).toBe(`grant ${g2}, in the supersession chain of grant ${g0}, is signed by ${alice.ref}, a key rotated to ${alice2.ref} at index 1 before the grant was logged`);
  });
});

describe('a withdrawn grant stops claiming its works', () => {
  /** 0: bob (not the creator) grants w; 1: alice grants w. */
  function squatted() {
    const log = new Log();
    const squat = log.add(grant(bob, [[w]]), bob);
    const own = log.add(grant(alice, [[w]]), alice);
    return { log, squat, own };
  }

  it('while the squatter keeps the grant, uses are disputed', () => {
    const { log, own } = squatted();
    const u = log.add(use(builder1, 'm@1', [item(w, { index: own })]), builder1);
    expect(log.judgement(u)).toMatchObject({ verdict: 'disputed', claimants: [bob.ref, alice.ref] });
  });

  it('revoked by its creator: later uses are no longer disputed (who is told still includes them)', () => {
    const { log, squat, own } = squatted();
    log.add(revocation(bob, { index: squat }), bob);
    const u = log.add(use(builder1, 'm@1', [item(w, { index: own })]), builder1);
    expect(log.judgement(u)).toMatchObject({ verdict: 'consented', claimants: [alice.ref] });
    expect(log.policy.claimants(item(w, { none: true }), u)).toEqual([bob.ref, alice.ref]);
  });

  it('superseded by a grant that no longer names the work: the same', () => {
    const { log, squat, own } = squatted();
    log.add(grant(bob, [[sha256Id('something else')]], { supersedes: { index: squat } }), bob);
    const u = log.add(use(builder1, 'm@1', [item(w, { index: own })]), builder1);
    expect(log.judgement(u)).toMatchObject({ verdict: 'consented', claimants: [alice.ref] });
  });

  it('a revocation claims back only the uses it binds (by effective time)', () => {
    const { log, squat, own } = squatted();
    log.add(revocation(bob, { index: squat }, '2026-09-01T00:00:00Z'), bob);
    const before = log.add(use(builder1, 'm@1', [item(w, { index: own })], { time: '2026-06-01T00:00:00Z' }), builder1);
    const after = log.add(use(builder1, 'm@2', [item(w, { index: own })], { time: '2026-10-01T00:00:00Z' }), builder1);
    expect(log.verdict(before)).toBe('disputed');
    expect(log.verdict(after)).toBe('consented');
  });

  it('a use logged before the withdrawal keeps its verdict', () => {
    const { log, squat, own } = squatted();
    const u = log.add(use(builder1, 'm@1', [item(w, { index: own })]), builder1);
    log.add(revocation(bob, { index: squat }), bob);
    expect(log.verdict(u)).toBe('disputed');
  });

  it('a perceptual identifier claimed first by a withdrawn grant passes to the next claimant', () => {
    const log = new Log();
    const p = phashId('authority');
    const squat = log.add(grant(bob, [[sha256Id('bob b'), p]]), bob);
    const own = log.add(grant(alice, [[sha256Id('alice a'), p]]), alice);
    const copy = [sha256Id('a copy of a'), p];
    const early = log.add(use(builder1, 'm@1', [item(copy, { index: own })]), builder1);
    log.add(revocation(bob, { index: squat }), bob);
    const late = log.add(use(builder1, 'm@2', [item(copy, { index: own })]), builder1);
    expect(log.judgement(early)).toMatchObject({ verdict: 'wrong-author', claimants: [bob.ref] });
    expect(log.judgement(late)).toMatchObject({ verdict: 'consented', claimants: [alice.ref] });
  });

  it('a supersession that keeps naming the work keeps the claim where it started', () => {
    const log = new Log();
    const p = phashId('kept');
    const own = log.add(grant(alice, [[sha256Id('alice a'), p]]), alice);
    log.add(grant(bob, [[sha256Id('bob b'), p]]), bob);
    log.add(grant(alice, [[sha256Id('alice a'), p]], { commercial: false, supersedes: { index: own } }), alice);
    const u = log.add(use(builder1, 'm@1', [item([sha256Id('a copy of a'), p], { index: own })]), builder1);
    expect(log.judgement(u)).toMatchObject({ verdict: 'consented', claimants: [alice.ref] });
    // By the work's bytes: the first claimant stays first.
    const both = log.add(grant(bob, [[sha256Id('alice a')]]), bob);
    const disputed = log.add(use(builder1, 'm@2', [item(sha256Id('alice a'), { index: own })]), builder1);
    expect(log.judgement(disputed)).toMatchObject({ verdict: 'disputed', claimants: [alice.ref, bob.ref] });
    expect(both).toBe(4);
  });
});

describe('revoking a superseded grant', () => {
  it('is refused at admission, naming the grant in force; in a log nevertheless it has no effect', () => {
    const log = new Log();
    const g0 = log.add(grant(alice, [[w]]), alice);
    const g1 = log.add(grant(alice, [[w]], { supersedes: { index: g0 } }), alice);
    expect(log.refusal(revocation(alice, { index: g0 }), alice)).toEqual({ field: 'payload.grant', message: `payload.grant: grant ${g0} was superseded by grant ${g1}; revoke grant ${g1}` });
    const g2 = log.add(grant(alice, [[w]], { supersedes: { index: g1 } }), alice);
    expect(log.refusal(revocation(alice, { index: g0 }), alice)?.message).toBe(`payload.grant: grant ${g0} was superseded by grant ${g1} (in force now: grant ${g2}); revoke grant ${g2}`);
    expect(log.refusal(revocation(alice, { index: g2 }), alice)).toBeUndefined();
    log.add(revocation(alice, { index: g0 }), alice);
    expect(log.policy.grant(g0)!.revocations).toBeUndefined();
    expect(log.policy.consentsOfWork(w, NOW).map((c) => c.status)).toEqual(['superseded', 'superseded', 'active']);
  });
});

describe('a retirement logged before the use', () => {
  const model = `${builder1.ref}/m@1` as `${KeyRef}/${string}`;

  it('does not retire what the use trained ("destroyed" in 2000, declared trained in 2026)', () => {
    const log = new Log();
    const g = log.add(grant(alice, [[w]], { retireBy: '2027-01-01T00:00:00Z' }), alice);
    log.add({ ...retirement(builder1, 'm@1', '2000-01-01T00:00:00Z'), status: 'destroyed' }, builder1);
    const u = log.add(use(builder1, 'm@1', [item(w, { index: g })], { time: '2026-06-01T00:00:00Z' }), builder1);
    expect(log.verdict(u)).toBe('retention-overdue');
    expect(log.judgement(u).reason).toMatch(`${model} has no retirement logged after the use at index ${u}`);
    log.add(retirement(builder1, 'm@1', '2026-12-01T00:00:00Z'), builder1);
    expect(log.verdict(u)).toBe('consented');
  });

  it('retires the uses logged before it, not those declared after it', () => {
    const log = new Log();
    const g = log.add(grant(alice, [[w]], { retireBy: '2027-01-01T00:00:00Z' }), alice);
    const first = log.add(use(builder1, 'm@1', [item(w, { index: g })]), builder1);
    log.add(retirement(builder1, 'm@1', '2026-12-01T00:00:00Z'), builder1);
    const second = log.add(use(builder1, 'm@1', [item(w, { index: g })]), builder1);
    expect([log.verdict(first), log.verdict(second)]).toEqual(['consented', 'retention-overdue']);
  });
});

/**
 * The consent policy on a hand-built log: several creators and builders, grants with
 * supersession, revocations, lineage and retirements. Each expected verdict follows from the
 * rules of spec/policy.md applied by hand to the log below.
 */
import { describe, expect, it } from 'vitest';
import { ConsentPolicy, type Verdict } from '../../src/policy/index.js';
import { type ParsedRecord, type RecordPayload, formatModelId } from '../../src/records/index.js';
import { type TestKey, alice, bob, builder1, builder2, carol, grant, item, lineage, phashId, retirement, revocation, rotation, sha256Id, signed, testKey, use } from '../records/fixtures.js';

const NOW = '2027-06-01T00:00:00Z';

/** A log under construction: records are signed, parsed and applied in order. */
class Log {
  readonly policy = new ConsentPolicy();
  readonly records: ParsedRecord[] = [];
  add(payload: RecordPayload, signer: TestKey): number {
    const index = this.records.length;
    const parsed = signed(payload, signer);
    this.records.push(parsed);
    this.policy.apply(index, parsed);
    return index;
  }
  verdicts(useIndex: number, now = NOW, model?: string): Verdict[] {
    return this.policy.judgeUse(useIndex, { now, ...(model ? { model: model as never } : {}) }).map((j) => j.verdict);
  }
}

const W = (n: string) => sha256Id(`work ${n}`);

describe('policy: scenario', () => {
  const log = new Log();
  const dave = testKey('dave');
  const dave2 = testKey('dave-2');
  const g0 = log.add(grant(alice, [[W('a1')], [W('a2')], [W('a3')]], { validUntil: '2026-03-01T00:00:00Z', retireBy: '2027-01-01T00:00:00Z' }), alice);
  const g1 = log.add(grant(bob, [[W('b1')], [W('b2')]], { commercial: false, licensees: [builder1.ref] }), bob);
  const g2 = log.add(grant(carol, [[W('c1'), phashId('c1')]], { uses: { ai_generative_training: { use: 'notAllowed' }, ai_training: { use: 'allowed' }, ai_inference: { use: 'allowed' }, data_mining: { use: 'allowed' } } }), carol);
  // Carol's grant is superseded by one that drops nothing but forbids commercial use.
  const g3 = log.add(grant(carol, [[W('c1'), phashId('c1')], [W('c2')]], { commercial: false, supersedes: { index: g2 } }), carol);
  const g4 = log.add(grant(bob, [[W('a2')]]), bob); // bob also claims alice's a2: disputed
  const r5 = log.add(revocation(bob, { index: g1 }, '2026-02-01T00:00:00Z'), bob);
  const g6 = log.add(grant(dave, [[sha256Id('dave original'), phashId('c1')]]), dave); // dave's look-alike of carol's c1
  const k7 = log.add(rotation(dave, dave2), dave2);
  const g8 = log.add(grant(dave, [[W('d1')]]), dave); // signed by dave's rotated-away key
  // builder1 trains m1 at 2026-02-15 (after alice's grant expired? no: validUntil is 2026-03-01).
  const u9 = log.add(
    use(builder1, 'm1@1', [
      item(W('a1'), { index: g0 }), // consented, but m1 must be retired by 2027-01-01
      item(W('a2'), { index: g0 }), // disputed (alice and bob)
      item(W('b1'), { index: g1 }), // revoked from 2026-02-01
      item(W('x'), { none: true }), // no-consent
      item(W('c2'), { index: g3 }), // consented
      item([sha256Id('dave copy'), phashId('c1')], { index: g6 }), // wrong-author (carol claims c1's phash first)
      item(W('d1'), { index: g8 }), // wrong-author (rotated key)
    ], { time: '2026-02-15T00:00:00Z' }),
    builder1,
  );
  const u10 = log.add(use(builder2, 'm2@1', [item(W('b2'), { index: g1 }), item(W('a3'), { index: g0 })], { time: '2026-01-15T00:00:00Z' }), builder2);
  const u11 = log.add(use(builder1, 'm3@1', [item(W('a3'), { index: g0 }), item(W('c1'), { index: g2 })], { time: '2026-04-01T00:00:00Z', commercial: true }), builder1);
  const l12 = log.add(lineage(builder2, 'm4@1', { builder: builder1, model: 'm1@1' }), builder2);
  const t13 = log.add(retirement(builder2, 'm4@1', '2026-12-01T00:00:00Z'), builder2);

  it('judges every item of the first use as the rules say', () => {
    expect(log.verdicts(u9)).toEqual(['retention-overdue', 'disputed', 'revoked', 'no-consent', 'consented', 'wrong-author', 'wrong-author']);
  });

  it('manifestItemJudge judges as judgeUse does, for the use and for a derived model', () => {
    const m4 = formatModelId({ builder: builder2.ref, name: 'm4', version: '1' } as never);
    for (const [useIndex, model] of [[u9, undefined], [u10, undefined], [u11, undefined], [u9, m4]] as const) {
      const opts = { now: new Date(NOW), ...(model ? { model } : {}) };
      const judgeItem = log.policy.manifestItemJudge(useIndex, opts);
      const items = log.policy.use(useIndex)!.record.items!;
      expect(items.map((it) => judgeItem(it))).toEqual(log.policy.judgeUse(useIndex, opts).map(({ position: _, ...j }) => j));
    }
  });

  it('before the retirement deadline the same item is consented', () => {
    expect(log.verdicts(u9, '2026-12-31T23:59:59Z')[0]).toBe('consented');
  });

  it('licensees and expiry', () => {
    // b2: bob's grant lists only builder1 and was revoked from 2026-02-01, after this use's time.
    expect(log.verdicts(u10)).toEqual(['licensee-mismatch', 'retention-overdue']);
    // a3 after validUntil; c1 relies on carol's grant superseded by g3 (non-commercial) before the use.
    expect(log.verdicts(u11)).toEqual(['expired', 'commercial-not-allowed']);
  });

  it('a derived model inherits its parent items; its own retirement counts for the deadline', () => {
    const viaChild = log.policy.judgeUse(u9, { now: NOW, model: formatModelId({ builder: builder2.ref, name: 'm4', version: '1' } as never) });
    expect(viaChild[0].verdict).toBe('consented'); // m4 retired 2026-12-01, before the 2027-01-01 deadline
    expect(viaChild[0].via?.lineageIndex).toBe(l12);
    expect(log.policy.isRetired(formatModelId({ builder: builder2.ref, name: 'm4', version: '1' } as never), NOW)).toBe(true);
    expect(t13).toBe(13);
  });

  it('every verdict appears in the scenario', () => {
    const seen = new Set([...log.verdicts(u9), ...log.verdicts(u10), ...log.verdicts(u11), ...log.verdicts(u9, '2026-06-01T00:00:00Z')]);
    const noGenerative = { ai_generative_training: { use: 'notAllowed' as const }, ai_training: { use: 'allowed' as const }, ai_inference: { use: 'allowed' as const }, data_mining: { use: 'allowed' as const } };
    const g = log.add(grant(carol, [[W('c3')]], { uses: noGenerative }), carol);
    const carolUse = log.add(use(builder1, 'm5@1', [item(W('c3'), { index: g })], { time: '2026-05-01T00:00:00Z' }), builder1);
    for (const v of log.verdicts(carolUse)) seen.add(v);
    expect([...seen].sort()).toEqual(['commercial-not-allowed', 'consented', 'disputed', 'expired', 'licensee-mismatch', 'no-consent', 'retention-overdue', 'revoked', 'use-not-allowed', 'wrong-author']);
    expect([g4, r5, k7]).toEqual([4, 5, 7]);
  });
});

describe('policy: one focused test per verdict', () => {
  function judgeOne(setup: (log: Log) => { work: string; consent: { index: number } | { none: true } }, extra: Parameters<typeof use>[3] = {}, now = NOW, by = builder1): Verdict {
    const log = new Log();
    const { work, consent } = setup(log);
    const u = log.add(use(by, 'm@1', [item(work, consent)], extra), by);
    return log.verdicts(u, now)[0];
  }
  const w = W('focus');
  it('consented', () => expect(judgeOne((l) => ({ work: w, consent: { index: l.add(grant(alice, [[w]]), alice) } }))).toBe('consented'));
  it('no-consent: grant logged after the use is not seen; a none item', () => {
    expect(judgeOne(() => ({ work: w, consent: { none: true } }))).toBe('no-consent');
    expect(judgeOne(() => ({ work: w, consent: { index: 5 } }))).toBe('no-consent');
  });
  it('revoked (revocation logged before the use)', () =>
    expect(judgeOne((l) => { const g = l.add(grant(alice, [[w]]), alice); l.add(revocation(alice, { index: g }), alice); return { work: w, consent: { index: g } }; })).toBe('revoked'));
  it('a revocation logged after the use does not count', () => {
    const log = new Log();
    const g = log.add(grant(alice, [[w]]), alice);
    const u = log.add(use(builder1, 'm@1', [item(w, { index: g })]), builder1);
    log.add(revocation(alice, { index: g }), alice);
    expect(log.verdicts(u)).toEqual(['consented']);
  });
  it('expired', () => expect(judgeOne((l) => ({ work: w, consent: { index: l.add(grant(alice, [[w]], { validUntil: '2026-05-01T00:00:00Z' }), alice) } }))).toBe('expired'));
  it('use-not-allowed (constrained counts as not allowed)', () =>
    expect(judgeOne((l) => ({ work: w, consent: { index: l.add(grant(alice, [[w]], { uses: { ai_generative_training: { use: 'constrained', constraint_info: 'only for art' }, ai_training: { use: 'allowed' }, ai_inference: { use: 'allowed' }, data_mining: { use: 'allowed' } } }), alice) } }))).toBe('use-not-allowed'));
  it('commercial-not-allowed', () => expect(judgeOne((l) => ({ work: w, consent: { index: l.add(grant(alice, [[w]], { commercial: false }), alice) } }), { commercial: true })).toBe('commercial-not-allowed'));
  it('licensee-mismatch', () => expect(judgeOne((l) => ({ work: w, consent: { index: l.add(grant(alice, [[w]], { licensees: [builder2.ref] }), alice) } }))).toBe('licensee-mismatch'));
  it('wrong-author (perceptual claim by another creator first)', () => {
    const p = phashId('focus');
    expect(judgeOne((l) => { l.add(grant(carol, [[W('orig'), p]]), carol); return { work: [W('copy'), p] as never, consent: { index: l.add(grant(bob, [[W('other'), p]]), bob) } }; })).toBe('wrong-author');
  });
  it('disputed', () => expect(judgeOne((l) => { const g = l.add(grant(alice, [[w]]), alice); l.add(grant(bob, [[w]]), bob); return { work: w, consent: { index: g } }; })).toBe('disputed'));
  it('retention-overdue, and not once the model is retired', () => {
    const log = new Log();
    const g = log.add(grant(alice, [[w]], { retireBy: '2027-01-01T00:00:00Z' }), alice);
    const u = log.add(use(builder1, 'm@1', [item(w, { index: g })]), builder1);
    expect(log.verdicts(u, '2027-01-01T00:00:00Z')).toEqual(['retention-overdue']);
    log.add(retirement(builder1, 'm@1', '2026-12-01T00:00:00Z'), builder1);
    expect(log.verdicts(u, '2027-01-01T00:00:00Z')).toEqual(['consented']);
  });
});

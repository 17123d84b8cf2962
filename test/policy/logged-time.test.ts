/**
 * The policy's clock (spec/policy.md §1) on logs fed record by record: only the log key's clock
 * records tell the time, and a retirement takes effect no earlier than it was logged.
 */
import { describe, expect, it } from 'vitest';
import { ConsentPolicy } from '../../src/policy/index.js';
import type { KeyRef, ParsedRecord, RecordPayload } from '../../src/records/index.js';
import { type TestKey, alice, bob, builder1, grant, item, retirement, sha256Id, signed, testKey, use } from '../records/fixtures.js';

const LOG = testKey('policy-log');
const clock = (time: string, by: TestKey = LOG) => signed({ type: 'clock', v: 1, author: by.ref, time } as RecordPayload, by);

function replay(records: ParsedRecord[]): ConsentPolicy {
  const policy = new ConsentPolicy({ clockKey: LOG.ref as KeyRef });
  records.forEach((r, i) => policy.apply(i, r));
  return policy;
}

describe('the policy clock', () => {
  const work = sha256Id('policy clock');

  it('clock records by another key set no time: the use is judged by its claim', () => {
    const policy = replay([
      signed(grant(alice, [[work]], { validFrom: '2026-01-01T00:00:00Z', validUntil: '2026-06-01T00:00:00Z' }), alice),
      clock('2026-07-01T00:00:00Z', bob),
      signed(use(builder1, 'm@1', [item(work, { index: 0 })], { time: '2026-05-01T00:00:00Z' }), builder1),
    ]);
    const [judgement] = policy.judgeUse(2, { now: '2026-09-01T00:00:00Z' });
    expect(judgement).toMatchObject({ verdict: 'consented' });
    expect(judgement).not.toHaveProperty('loggedAt');
    expect(policy.clock).toBeUndefined();
  });

  it('the same log with the clock record by the log key: expired, by the logged time', () => {
    const policy = replay([
      signed(grant(alice, [[work]], { validFrom: '2026-01-01T00:00:00Z', validUntil: '2026-06-01T00:00:00Z' }), alice),
      clock('2026-07-01T00:00:00Z'),
      signed(use(builder1, 'm@1', [item(work, { index: 0 })], { time: '2026-05-01T00:00:00Z' }), builder1),
    ]);
    expect(policy.judgeUse(2, { now: '2026-09-01T00:00:00Z' })[0]).toMatchObject({ verdict: 'expired', loggedAt: '2026-07-01T00:00:00Z' });
    expect(policy.clock).toEqual({ index: 1, time: '2026-07-01T00:00:00Z' });
  });

  it('a back-dated retirement takes effect when it was logged, not when it claims', () => {
    const policy = replay([
      clock('2026-01-01T00:00:00Z'),
      signed(grant(alice, [[work]], { validFrom: '2025-01-01T00:00:00Z', retireBy: '2026-03-01T00:00:00Z' }), alice),
      signed(use(builder1, 'm@1', [item(work, { index: 1 })], { time: '2026-01-01T00:00:00Z' }), builder1),
      clock('2026-05-01T00:00:00Z'),
      // Claims to have retired the model before the deadline; logged two months after it.
      signed(retirement(builder1, 'm@1', '2026-02-01T00:00:00Z'), builder1),
    ]);
    expect(policy.judgeUse(2, { now: '2026-04-01T00:00:00Z' })[0].verdict).toBe('retention-overdue');
    expect(policy.judgeUse(2, { now: '2026-05-01T00:00:00Z' })[0].verdict).toBe('consented');
  });
});

/** The log's bounded cache against a model: what it must keep, and its bound. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Lru } from '../../src/log/index.js';

describe('Lru', () => {
  it('keeps the capacity/2 most recently used keys with their latest values, never more than capacity', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 12 }), fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 20 })), { maxLength: 300 }), (capacity, ops) => {
        const lru = new Lru<number, string>(capacity);
        const latest = new Map<number, string>();
        const recency: number[] = [];
        const touch = (k: number) => {
          const at = recency.indexOf(k);
          if (at >= 0) recency.splice(at, 1);
          recency.push(k);
        };
        ops.forEach(([isSet, key], step) => {
          if (isSet) {
            lru.set(key, `v${step}`);
            latest.set(key, `v${step}`);
            touch(key);
          } else {
            const got = lru.get(key);
            // Whatever it answers is the latest value; a miss is allowed only for old keys.
            if (got !== undefined) {
              expect(got).toBe(latest.get(key));
              touch(key);
            } else expect(recency.slice(-Math.floor(capacity / 2))).not.toContain(key);
          }
        });
        const held = [...latest.keys()].filter((k) => lru.get(k) !== undefined);
        expect(held.length).toBeLessThanOrEqual(capacity);
      }),
      { numRuns: 300 },
    );
  });

  it('forgets everything on clear', () => {
    const lru = new Lru<string, number>(4);
    lru.set('a', 1);
    lru.clear();
    expect(lru.get('a')).toBeUndefined();
  });
});

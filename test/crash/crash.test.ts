/**
 * The short crash run of npm test (the long one is `npm run crash-test`): a real server under
 * concurrent submissions and manifest uploads (half of them claimed, the rest removed a second
 * after they were stored), SIGKILLed three times at random moments.
 */
import { describe, expect, it } from 'vitest';
import { runCrashTest } from '../../bench/_crash.js';

describe('crash safety', () => {
  it('loses no acknowledged record and never serves inconsistent checkpoints across SIGKILLs', async () => {
    const lines: string[] = [];
    const report = await runCrashTest({ kills: 3, log: (l) => lines.push(l) });
    expect(report.kills).toBe(3);
    expect(report.acknowledged).toBeGreaterThan(0);
    expect(report.checkpoints_seen).toBeGreaterThan(1);
    expect(lines).toHaveLength(3);
    expect(report.lost, lines.join('\n')).toBe(0);
    expect(report.inconsistent, lines.join('\n')).toBe(0);
  }, 240_000);
});

/** `npm run crash-test` and the `crash` line of `npm run bench`: 30 SIGKILLs (5 with --quick). */
import { runCrashTest } from './_crash.js';
import type { Bench } from './harness.js';

export const benches: Bench[] = [
  {
    group: 'crash',
    async run({ quick }) {
      const report = await runCrashTest({ kills: quick ? 5 : 30, log: (line) => process.stderr.write(`${line}\n`) });
      process.stderr.write(`${report.kills} kills, ${report.acknowledged} acknowledged, ${report.claimed} claimed manifests, ${report.lost} lost, ${report.inconsistent} inconsistent\n`);
      return [{ name: 'crash', ...report }];
    },
  },
];

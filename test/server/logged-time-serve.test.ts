/**
 * Logged time on the real `pvl serve` (dist/src/cli/main.js; `npm test` builds first), on the
 * wall clock: a use that claims a time inside a grant's validity but is logged after it ends is
 * `expired`, and the checkpoint names the log's clock.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { checkpointLogTime, parseCheckpoint, parseNote } from '../../src/note/index.js';
import { type RecordPayload, formatRecordTime, signRecord } from '../../src/records/index.js';
import { type TestKey, alice, builder1, grant, item, sha256Id, use, verify } from '../records/fixtures.js';
import { tempDir } from '../support/tmp.js';

const MAIN = join(import.meta.dirname, '../../dist/src/cli/main.js');
const cleanups: Array<() => Promise<void>> = [];
const running: ChildProcess[] = [];
afterEach(async () => {
  for (const p of running.splice(0)) if (p.exitCode === null) p.kill('SIGKILL');
  for (const c of cleanups.splice(0).reverse()) await c();
});

const at = (ms: number) => formatRecordTime(new Date(ms));
const entry = (payload: RecordPayload, key: TestKey) => Buffer.from(signRecord(payload, key.signer, { verify })).toString();

async function serve(flags: string[]): Promise<string> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
  const { dir, cleanup } = await tempDir('pvl-logged-serve-');
  cleanups.push(cleanup);
  const proc = spawn(process.execPath, [MAIN, 'serve', '--data', dir, '--port', '0', '--origin', 'test.example/logged-serve', ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(proc);
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const m = /^listening on (http:\/\/\S+)$/.exec(line);
      if (m) resolve(m[1]);
    });
    proc.once('exit', (code) => reject(new Error(`pvl serve exited ${code} before listening: ${stderr}`)));
  });
}

describe('pvl serve judges by logged time', () => {
  it('a use back-dated into a grant\'s validity, logged after validUntil, is expired', async () => {
    const url = await serve(['--max-clock-skew', '3600']);
    const post = async (body: string) => {
      const res = await fetch(`${url}/records?wait=checkpoint`, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
      expect(res.status).toBe(201);
      return (await res.json()) as { index: number };
    };
    const start = Date.now();
    const validUntil = at(start + 3000);
    const work = sha256Id('serve-expiring');
    const g = await post(entry(grant(alice, [[work]], { time: at(start), validFrom: at(start - 60_000), validUntil }), alice));
    expect(g.index).toBe(1); // after the log's first clock record
    while (at(Date.now()) <= validUntil) await new Promise((r) => setTimeout(r, 250));
    // Claims the moment the grant was made: inside its validity, and well inside the skew.
    const u = await post(entry(use(builder1, 'late@1', [item(work, { index: g.index })], { time: at(start) }), builder1));

    let verdict: { verdict: string; loggedAt?: string; reason: string } | undefined;
    while (!verdict) {
      const page = (await (await fetch(`${url}/works/${work}/uses`)).json()) as { uses: Array<{ useIndex: number; verdict: typeof verdict }> };
      verdict = page.uses.find((x) => x.useIndex === u.index)?.verdict;
      if (!verdict) await new Promise((r) => setTimeout(r, 20));
    }
    expect(verdict.verdict).toBe('expired');
    expect(verdict.loggedAt! > validUntil).toBe(true);
    expect(verdict.reason).toContain(`was valid until ${validUntil}; the use was logged at ${verdict.loggedAt}`);

    const checkpoint = parseCheckpoint(parseNote(await (await fetch(`${url}/checkpoint`)).text()).text);
    expect(checkpointLogTime(checkpoint)?.time).toBe(verdict.loggedAt);
  });
});

/**
 * Admission refuses a record whose claimed `time` is too far from the server's clock (spec/api.md,
 * `clock-skew`): in process over a ledger with an injected clock (the limits exactly), and on the
 * real `pvl serve` (dist/src/cli/main.js; `npm test` builds first): the default of 5 minutes and
 * `--max-clock-skew`. Replays — reopening the ledger, reindex — take the log as it is.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { openLedger } from '../../src/ledger/index.js';
import { generatePrivateKey, verifierKeyOf } from '../../src/note/index.js';
import { nodeSigner } from '../../src/platform/node-signer.js';
import { type RecordPayload, formatRecordTime, signRecord } from '../../src/records/index.js';
import { createApp } from '../../src/server/app.js';
import { LevelLogStore } from '../../src/store/index.js';
import { type TestKey, alice, builder1, creator, grant, item, sha256Id, use, verify } from '../records/fixtures.js';
import { tempDir } from '../support/tmp.js';

const ORIGIN = 'test.example/time-skew';
const logKey = generatePrivateKey(ORIGIN);
const MAIN = join(import.meta.dirname, '../../dist/src/cli/main.js');
const MINUTE = 60_000;

const cleanups: Array<() => Promise<void>> = [];
const running: ChildProcess[] = [];
afterEach(async () => {
  for (const p of running.splice(0)) if (p.exitCode === null) p.kill('SIGKILL');
  for (const c of cleanups.splice(0).reverse()) await c();
});

const at = (ms: number) => formatRecordTime(new Date(ms));
const entry = (payload: RecordPayload, key: TestKey) => Buffer.from(signRecord(payload, key.signer, { verify })).toString();
const problemOf = async (res: Response) => ({ status: res.status, ...((await res.json()) as { code: string; field: string; detail: string }) });

/** A ledger whose clock reads `clock.now`, behind the HTTP API, on `dir` (a fresh one by default). */
async function setup(clock: { now: number }, maxClockSkewMs: number | undefined, dir?: string) {
  if (!dir) {
    const tmp = await tempDir('pvl-skew-');
    cleanups.push(tmp.cleanup);
    dir = tmp.dir;
  }
  const store = await LevelLogStore.open(dir);
  const ledger = await openLedger({ store, origin: ORIGIN, signer: nodeSigner(logKey), integrateIntervalMs: 5, now: () => clock.now, ...(maxClockSkewMs === undefined ? {} : { maxClockSkewMs }) });
  const shutdown = new AbortController();
  const app = createApp({ ledger, log: ledger.log, vkey: verifierKeyOf(logKey), shutdown: shutdown.signal });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    shutdown.abort();
    await ledger.close();
  };
  cleanups.push(close);
  const post = (body: string, wait = false) => app.request(`/records${wait ? '?wait=checkpoint' : ''}`, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
  return { app, ledger, post, close, dir };
}

describe('admission: claimed time against the server clock', () => {
  const NOW = Date.parse('2026-12-06T12:00:00Z');

  it('admits times up to the skew either way, and refuses beyond it with a 400 naming the field and both times', async () => {
    const { post } = await setup({ now: NOW }, 5 * MINUTE);
    for (const offset of [0, 5 * MINUTE, -5 * MINUTE]) {
      expect((await post(entry(creator(alice, { time: at(NOW + offset), name: `ok ${offset}` }), alice))).status).toBe(201);
    }
    for (const offset of [5 * MINUTE + 1000, -(5 * MINUTE + 1000), Date.parse('2000-01-01T00:00:00Z') - NOW]) {
      const claimed = at(NOW + offset);
      const res = await post(entry(creator(alice, { time: claimed, name: `refused ${offset}` }), alice));
      const problem = await problemOf(res);
      expect(problem).toMatchObject({ status: 400, code: 'clock-skew', field: '[0].payload.time' });
      expect(problem.detail).toContain(claimed);
      expect(problem.detail).toContain('2026-12-06T12:00:00Z');
      expect(problem.detail).toContain('more than the 300 s allowed');
    }
  });

  it('refuses a whole batch for one element out of skew, and writes nothing', async () => {
    const { post, ledger } = await setup({ now: NOW }, 5 * MINUTE);
    const good = entry(creator(alice, { time: at(NOW) }), alice);
    const late = entry(grant(alice, [[sha256Id('skew')]], { time: at(NOW + 10 * MINUTE) }), alice);
    const problem = await problemOf(await post(`[${good},${late}]`));
    expect(problem).toMatchObject({ status: 400, code: 'clock-skew', field: '[1].payload.time' });
    expect(ledger.log.sequencedSize).toBe(0);
  });

  it('still answers a record already in the log as a duplicate, however old', async () => {
    const clock = { now: NOW };
    const { post } = await setup(clock, 5 * MINUTE);
    const record = entry(creator(alice, { time: at(NOW) }), alice);
    expect((await post(record)).status).toBe(201);
    clock.now = NOW + 60 * MINUTE;
    const again = await post(record);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ index: 0, duplicate: true });
  });

  it('without maxClockSkewMs (a ledger embedded in tests or tools) there is no check', async () => {
    const { post } = await setup({ now: NOW }, undefined);
    expect((await post(entry(creator(alice, { time: '2001-01-01T00:00:00Z' }), alice))).status).toBe(201);
  });

  it('replays do not check it: the policy feed on reopen and reindex take the log as it is', async () => {
    const clock = { now: NOW };
    const first = await setup(clock, 5 * MINUTE);
    const work = sha256Id('replayed');
    const g = (await (await first.post(entry(grant(alice, [[work]], { time: at(NOW) }), alice))).json()) as { index: number };
    const u = (await (await first.post(entry(use(builder1, 'm@1', [item(work, { index: g.index })], { time: at(NOW) }), builder1), true)).json()) as { index: number };
    await first.close();
    // Years later, every record in the log is far out of skew: the ledger still opens, feeds the
    // policy from the log, judges, and reindexes.
    clock.now = NOW + 3 * 365 * 24 * 60 * MINUTE;
    const reopened = await setup(clock, 5 * MINUTE, first.dir);
    await reopened.ledger.reindex();
    const uses = (await (await reopened.app.request(`/works/${work}/uses`)).json()) as { uses: Array<{ useIndex: number; verdict: { verdict: string } }> };
    expect(uses.uses.map((x) => [x.useIndex, x.verdict.verdict])).toEqual([[u.index, 'consented']]);
  });
});

/** Starts `pvl serve` with `flags`; resolves with its URL once it listens. */
async function serve(flags: string[] = []): Promise<string> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
  const { dir, cleanup } = await tempDir('pvl-skew-serve-');
  cleanups.push(cleanup);
  const proc = spawn(process.execPath, [MAIN, 'serve', '--data', dir, '--port', '0', '--origin', ORIGIN, ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
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

describe('pvl serve --max-clock-skew', () => {
  const postTo = (url: string, body: string) => fetch(`${url}/records`, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });

  it('refuses a time 5 minutes and more away by default, and admits the current time', async () => {
    const url = await serve();
    expect((await postTo(url, entry(creator(alice, { time: at(Date.now()) }), alice))).status).toBe(201);
    const stale = at(Date.now() - 6 * MINUTE);
    const problem = await problemOf(await postTo(url, entry(creator(alice, { time: stale, name: 'stale' }), alice)));
    expect(problem).toMatchObject({ status: 400, code: 'clock-skew', field: '[0].payload.time' });
    expect(problem.detail).toContain(stale);
    expect(problem.detail).toContain('more than the 300 s allowed');
  });

  it('takes the skew in seconds', async () => {
    const url = await serve(['--max-clock-skew', '3600']);
    expect((await postTo(url, entry(creator(alice, { time: at(Date.now() - 30 * MINUTE) }), alice))).status).toBe(201);
    expect((await postTo(url, entry(creator(alice, { time: at(Date.now() + 90 * MINUTE), name: 'later' }), alice))).status).toBe(400);
  });

  it('refuses a skew that is not a whole number of seconds ≥ 1 as a usage error', async () => {
    for (const bad of ['0', '-5', '1.5', 'ten']) {
      const proc = spawn(process.execPath, [MAIN, 'serve', '--data', '/nonexistent/never-created', '--port', '0', '--max-clock-skew', bad], { stdio: ['ignore', 'pipe', 'pipe'] });
      running.push(proc);
      let stderr = '';
      proc.stderr!.on('data', (d) => (stderr += d));
      const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
      expect(code).toBe(2);
      expect(stderr).toMatch(/--max-clock-skew must be/);
    }
  });
});

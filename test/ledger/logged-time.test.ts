/**
 * Logged time, not claimed time (spec/policy.md "The clock"): the ledger precedes admitted
 * batches with clock records signed by the log's key, validity windows are judged by the time
 * of the last clock record before a use, and checkpoints carry that time. A real ledger on
 * LevelDB behind the HTTP API; its clock reads `clock.now`, so seconds pass when a test says.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openLedger } from '../../src/ledger/index.js';
import { checkpointLogTime, generatePrivateKey, parseCheckpoint, parseNote, verifierKeyOf } from '../../src/note/index.js';
import { nodeSigner } from '../../src/platform/node-signer.js';
import { type RecordPayload, formatKeyRef, formatRecordTime, parseRecord, signRecord } from '../../src/records/index.js';
import { createApp } from '../../src/server/app.js';
import { LevelLogStore } from '../../src/store/index.js';
import { type TestKey, alice, builder1, grant, item, revocation, sha256Id, use, verify } from '../records/fixtures.js';
import { tempDir } from '../support/tmp.js';

const ORIGIN = 'test.example/logged-time';
const logKey = generatePrivateKey(ORIGIN);
const LOG_REF = formatKeyRef(logKey.publicKey);
const T = Date.parse('2026-12-06T12:00:00Z');
const SECOND = 1000;
const MINUTE = 60 * SECOND;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const at = (ms: number) => formatRecordTime(new Date(ms));
const entry = (payload: RecordPayload, key: TestKey) => Buffer.from(signRecord(payload, key.signer, { verify })).toString();

type Verdict = { verdict: string; reason: string; loggedAt?: string };

/** A clock-keeping ledger behind the HTTP API on `dir` (fresh by default); its clock reads `clock.now`. */
async function setup(clock: { now: number }, dir?: string) {
  if (!dir) {
    const tmp = await tempDir('pvl-logged-time-');
    cleanups.push(tmp.cleanup);
    dir = tmp.dir;
  }
  const store = await LevelLogStore.open(dir);
  const ledger = await openLedger({ store, origin: ORIGIN, signer: nodeSigner(logKey), integrateIntervalMs: 5, now: () => clock.now, maxClockSkewMs: 5 * MINUTE, clockRecords: true });
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
  const post = async (...bodies: string[]) => {
    const res = await app.request('/records?wait=checkpoint', { method: 'POST', body: bodies.length === 1 ? bodies[0] : `[${bodies.join(',')}]`, headers: { 'Content-Type': 'application/json' } });
    const body = (await res.json()) as { index: number; results?: Array<{ index: number }> };
    if (res.status !== 201) throw new Error(`POST /records: ${res.status} ${JSON.stringify(body)}`);
    return body;
  };
  /** The verdict of the use at `useIndex` on `work`, once indexed. */
  const verdictOf = async (work: string, useIndex: number): Promise<Verdict> => {
    for (;;) {
      const page = (await (await app.request(`/works/${work}/uses`)).json()) as { uses: Array<{ useIndex: number; verdict: Verdict }> };
      const found = page.uses.find((u) => u.useIndex === useIndex);
      if (found) return found.verdict;
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  /** Every entry of the log, parsed, with its index. */
  const entries = async () => {
    const size = ledger.log.sequencedSize;
    await ledger.waitForCheckpoint(size - 1);
    return (await ledger.log.readEntries(0, size)).map((bytes, index) => ({ index, payload: parseRecord(bytes, { verify }).payload }));
  };
  return { app, ledger, post, verdictOf, entries, close, dir };
}

describe('validity windows judge the logged time', () => {
  it('a use claiming a time before validUntil but logged after it is expired', async () => {
    const clock = { now: T };
    const { post, verdictOf } = await setup(clock);
    const work = sha256Id('expiring');
    const g = await post(entry(grant(alice, [[work]], { time: at(T), validFrom: at(T - MINUTE), validUntil: at(T + 10 * SECOND) }), alice));
    clock.now = T + 20 * SECOND;
    // Back-dated by 15 s: well within the skew, and before validUntil.
    const u = await post(entry(use(builder1, 'late@1', [item(work, { index: g.index })], { time: at(T + 5 * SECOND) }), builder1));
    const verdict = await verdictOf(work, u.index);
    expect(verdict.verdict).toBe('expired');
    expect(verdict.loggedAt).toBe(at(T + 20 * SECOND));
    expect(verdict.reason).toContain(`the use was logged at ${at(T + 20 * SECOND)}`);
  });

  it('a use logged before validUntil is consented, whatever later time it claims', async () => {
    const clock = { now: T };
    const { post, verdictOf } = await setup(clock);
    const work = sha256Id('in-time');
    const g = await post(entry(grant(alice, [[work]], { time: at(T), validFrom: at(T - MINUTE), validUntil: at(T + 10 * SECOND) }), alice));
    clock.now = T + 5 * SECOND;
    const u = await post(entry(use(builder1, 'early@1', [item(work, { index: g.index })], { time: at(T + 4 * MINUTE) }), builder1));
    expect(await verdictOf(work, u.index)).toMatchObject({ verdict: 'consented', loggedAt: at(T + 5 * SECOND) });
  });

  it('a future validFrom is not satisfied by a forward-dated use', async () => {
    const clock = { now: T };
    const { post, verdictOf } = await setup(clock);
    const work = sha256Id('not-yet');
    const g = await post(entry(grant(alice, [[work]], { time: at(T), validFrom: at(T + 2 * MINUTE) }), alice));
    clock.now = T + 10 * SECOND;
    const u = await post(entry(use(builder1, 'eager@1', [item(work, { index: g.index })], { time: at(T + 4 * MINUTE) }), builder1));
    const verdict = await verdictOf(work, u.index);
    expect(verdict.verdict).toBe('no-consent');
    expect(verdict.reason).toContain(`valid only from ${at(T + 2 * MINUTE)}; the use was logged at ${at(T + 10 * SECOND)}`);
  });

  it('a revocation binds the uses logged after it once effective, whatever they claim', async () => {
    const clock = { now: T };
    const { post, verdictOf } = await setup(clock);
    const work = sha256Id('revoked');
    const g = await post(entry(grant(alice, [[work]], { time: at(T), validFrom: at(T - MINUTE) }), alice));
    const declare = (model: string, claimed: number) => post(entry(use(builder1, model, [item(work, { index: g.index })], { time: at(claimed) }), builder1));

    clock.now = T + 10 * SECOND;
    // Claims a time after the revocation's effective, but is logged before the revocation.
    const before = await declare('before@1', T + 4 * MINUTE);
    clock.now = T + 20 * SECOND;
    await post(entry(revocation(alice, { index: g.index }, at(T + MINUTE), at(T + 20 * SECOND)), alice));
    clock.now = T + 30 * SECOND;
    // Logged after the revocation but before it takes effect, claiming a time after it.
    const notYet = await declare('not-yet@1', T + 3 * MINUTE);
    clock.now = T + 2 * MINUTE;
    // Logged once it took effect, back-dated before it.
    const backDated = await declare('back-dated@1', T + 30 * SECOND);

    expect((await verdictOf(work, before.index)).verdict).toBe('consented');
    expect((await verdictOf(work, notYet.index)).verdict).toBe('consented');
    const revoked = await verdictOf(work, backDated.index);
    expect(revoked.verdict).toBe('revoked');
    expect(revoked.reason).toContain(`the use was logged at ${at(T + 2 * MINUTE)}`);
  });

  it('an immediate revocation binds every use logged after it, however forward-dated', async () => {
    const clock = { now: T };
    const { post, verdictOf } = await setup(clock);
    const work = sha256Id('revoked-now');
    const g = await post(entry(grant(alice, [[work]], { time: at(T), validFrom: at(T - MINUTE) }), alice));
    clock.now = T + 5 * SECOND;
    await post(entry(revocation(alice, { index: g.index }, at(T + 5 * SECOND), at(T + 5 * SECOND)), alice));
    clock.now = T + 6 * SECOND;
    const u = await post(entry(use(builder1, 'forward@1', [item(work, { index: g.index })], { time: at(T + 4 * MINUTE) }), builder1));
    expect((await verdictOf(work, u.index)).verdict).toBe('revoked');
  });
});

describe('clock records', () => {
  it('clients cannot submit them, signed by the log key or any other', async () => {
    const { app, ledger } = await setup({ now: T });
    const forged = (key: { signer: ReturnType<typeof nodeSigner> }, author: string) =>
      Buffer.from(signRecord({ type: 'clock', v: 1, author: author as `ed25519:${string}`, time: at(T) }, key.signer, { verify })).toString();
    for (const body of [forged({ signer: nodeSigner(logKey) }, LOG_REF), forged(alice, alice.ref)]) {
      const res = await app.request('/records', { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: 'clock-record', field: '[0].payload.type', detail: expect.stringContaining('clock records are written by the log itself') });
    }
    expect(ledger.log.sequencedSize).toBe(0);
  });

  it('precede every batch admitted in a later second than the last, with the time of the server clock', async () => {
    const clock = { now: T + 400 };
    const { post, entries } = await setup(clock);
    const first = await post(entry(grant(alice, [[sha256Id('a')]], { time: at(T) }), alice));
    clock.now = T + 900; // the same second: no new clock record
    const second = await post(entry(grant(alice, [[sha256Id('b')]], { time: at(T) }), alice), entry(grant(alice, [[sha256Id('c')]], { time: at(T) }), alice));
    clock.now = T + 3 * SECOND + 1;
    const third = await post(entry(grant(alice, [[sha256Id('d')]], { time: at(T) }), alice));
    expect([first.index, second.results!.map((r) => r.index), third.index]).toEqual([1, [2, 3], 5]);
    const log = await entries();
    expect(log.map((e) => [e.index, e.payload.type, e.payload.author === LOG_REF ? e.payload.time : undefined])).toEqual([
      [0, 'clock', at(T)],
      [1, 'consent-grant', undefined],
      [2, 'consent-grant', undefined],
      [3, 'consent-grant', undefined],
      [4, 'clock', at(T + 3 * SECOND)],
      [5, 'consent-grant', undefined],
    ]);
    expect(log.filter((e) => e.payload.type === 'clock').every((e) => Object.keys(e.payload).sort().join() === 'author,time,type,v')).toBe(true);
  });

  it('never go back: a server clock set back writes none until it has caught up, across restarts', async () => {
    const clock = { now: T + MINUTE };
    const first = await setup(clock);
    const work = sha256Id('restart');
    const g = await first.post(entry(grant(alice, [[work]], { time: at(T), validFrom: at(T - MINUTE) }), alice));
    await first.close();

    clock.now = T + 10 * SECOND; // set back by 50 s while the server was down
    const second = await setup(clock, first.dir);
    const u = await second.post(entry(use(builder1, 'm@1', [item(work, { index: g.index })], { time: at(T) }), builder1));
    expect(await second.verdictOf(work, u.index)).toMatchObject({ verdict: 'consented', loggedAt: at(T + MINUTE) });
    clock.now = T + MINUTE + 2 * SECOND;
    await second.post(entry(grant(alice, [[sha256Id('later')]], { time: at(T + MINUTE) }), alice));
    const clocks = (await second.entries()).filter((e) => e.payload.type === 'clock').map((e) => e.payload.time);
    expect(clocks).toEqual([at(T + MINUTE), at(T + MINUTE + 2 * SECOND)]);
  });

  it('checkpoints carry the time of the last clock record in their tree, and witnesses see it', async () => {
    const clock = { now: T };
    const { app, post } = await setup(clock);
    await post(entry(grant(alice, [[sha256Id('x')]], { time: at(T) }), alice));
    clock.now = T + 7 * SECOND;
    await post(entry(grant(alice, [[sha256Id('y')]], { time: at(T) }), alice));
    const note = await (await app.request('/checkpoint')).text();
    const checkpoint = parseCheckpoint(parseNote(note).text);
    expect(checkpoint.size).toBe(4);
    expect(checkpoint.extensions).toEqual([`pvl-time ${at(T + 7 * SECOND)}`]);
    expect(checkpointLogTime(checkpoint)).toEqual({ time: at(T + 7 * SECOND), seconds: (T + 7 * SECOND) / 1000 });
  });
});

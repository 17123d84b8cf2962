/**
 * `pvl audit`'s trusted-time checks (spec/policy.md "The clock"): logs built entry by entry with
 * the log's key (src/log on LevelDB, as a misbehaving log could write them), then served by a real
 * ledger (in-process hono app on node:http) and audited.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createServer, type Server } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { audit } from '../../src/cli/commands/audit.js';
import { openLedger } from '../../src/ledger/index.js';
import { Log } from '../../src/log/index.js';
import { generatePrivateKey, verifierKeyOf } from '../../src/note/index.js';
import { nodeHasher } from '../../src/platform/node-hasher.js';
import { nodeSigner } from '../../src/platform/node-signer.js';
import { type RecordPayload, formatKeyRef, signRecord } from '../../src/records/index.js';
import { createApp } from '../../src/server/app.js';
import { LevelLogStore } from '../../src/store/index.js';
import { alice, builder1, grant, item, sha256Id, use, verify } from '../records/fixtures.js';
import { tempDir } from '../support/tmp.js';

const ORIGIN = 'test.example/clock-audit';
const logKey = generatePrivateKey(ORIGIN);
const vkey = verifierKeyOf(logKey);
const LOG_REF = formatKeyRef(logKey.publicKey);
const WORK = sha256Id('clock-audit');

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  vi.restoreAllMocks();
});

const clockBy = (signer: ReturnType<typeof nodeSigner>, author: string, time: string) =>
  signRecord({ type: 'clock', v: 1, author: author as `ed25519:${string}`, time }, signer, { verify });
const logClock = (time: string) => clockBy(nodeSigner(logKey), LOG_REF, time);
const record = (payload: RecordPayload, key: typeof alice) => signRecord(payload, key.signer, { verify });

/** Writes `entries` as a log whose checkpoint has `timeLine` (if any), serves it with a ledger, and audits it. */
async function auditLog(entries: Uint8Array[], timeLine?: string) {
  const { dir, cleanup } = await tempDir('pvl-clock-audit-');
  cleanups.push(cleanup);
  const log = await Log.open(await LevelLogStore.open(dir), { origin: ORIGIN, signer: nodeSigner(logKey), hasher: nodeHasher, extensions: () => (timeLine ? [`pvl-time ${timeLine}`] : []) });
  await log.append(entries);
  await log.integrate();
  await log.close();
  return serveAndAudit(dir);
}

/** Serves the log in `dir` with a ledger (which adds no clock record: it admits nothing) and audits it. */
async function serveAndAudit(dir: string) {
  const ledger = await openLedger({ store: await LevelLogStore.open(dir), origin: ORIGIN, signer: nodeSigner(logKey), integrateIntervalMs: 5 });
  const shutdown = new AbortController();
  const app = createApp({ ledger, log: ledger.log, vkey, shutdown: shutdown.signal });
  const server: Server = createServer(getRequestListener(app.fetch));
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  cleanups.push(async () => {
    shutdown.abort();
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
    await ledger.close();
  });
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true); // the progress bar
  return audit({ server: url, vkey, evidenceDir: dir, witnessTimeout: 1000, manifestItemsMax: 1000 });
}

describe('pvl audit: the log clock', () => {
  // A legacy use (before any clock record), then a clock that goes back, a use after it, and a
  // clock record by another key (which tells nothing).
  const entries = () => [
    record(grant(alice, [[WORK]], { time: '2026-12-06T12:00:00Z', validFrom: '2026-12-06T11:00:00Z' }), alice),
    record(use(builder1, 'legacy@1', [item(WORK, { index: 0 })], { time: '2026-12-06T12:00:01Z' }), builder1),
    logClock('2026-12-06T12:00:10Z'),
    logClock('2026-12-06T12:00:03Z'),
    record(use(builder1, 'clocked@1', [item(WORK, { index: 0 })], { time: '2026-12-06T12:00:04Z' }), builder1),
    clockBy(alice.signer, alice.ref, '2026-12-06T13:00:00Z'),
  ];

  it('reports a clock record that goes back as a fault with both records, and counts uses by logged and by claimed time', async () => {
    const report = await auditLog(entries(), '2026-12-06T12:00:03Z');
    expect(report.clock).toEqual({
      clockRecords: 2,
      lastClock: { index: 3, time: '2026-12-06T12:00:03Z' },
      checkpointTime: '2026-12-06T12:00:03Z',
      usesByLoggedTime: 1,
      usesByClaimedTime: 1,
      faults: [
        {
          kind: 'clock-went-back',
          detail: 'clock record 3 says 2026-12-06T12:00:03Z, before 2026-12-06T12:00:10Z of clock record 2',
          index: 3,
          time: '2026-12-06T12:00:03Z',
          previous: { index: 2, time: '2026-12-06T12:00:10Z' },
        },
      ],
    });
    expect(report.records.clock).toBe(3);
  });

  it('reports a checkpoint whose time line is not the last clock record in the tree, or that has none', async () => {
    const later = await auditLog(entries(), '2026-12-06T12:00:10Z');
    expect(later.clock.faults.map((f) => [f.kind, f.detail])).toContainEqual([
      'checkpoint-time-mismatch',
      'the checkpoint of size 6 says pvl-time 2026-12-06T12:00:10Z, but the last clock record in the tree (index 3) says 2026-12-06T12:00:03Z',
    ]);
    const none = await auditLog(entries());
    expect(none.clock.faults.map((f) => f.detail)).toContain('the checkpoint of size 6 has no pvl-time line, but the last clock record in the tree (index 3) says 2026-12-06T12:00:03Z');
  });

  it('finds no fault in a log written by a clock-keeping ledger', async () => {
    const { dir, cleanup } = await tempDir('pvl-clock-audit-good-');
    cleanups.push(cleanup);
    const clock = { now: Date.parse('2026-12-06T12:00:00Z') };
    const ledger = await openLedger({ store: await LevelLogStore.open(dir), origin: ORIGIN, signer: nodeSigner(logKey), integrateIntervalMs: 5, now: () => clock.now, clockRecords: true });
    const g = await ledger.submit([record(grant(alice, [[WORK]], { time: '2026-12-06T12:00:00Z', validFrom: '2026-12-06T11:00:00Z' }), alice)]);
    clock.now += 5000;
    const u = await ledger.submit([record(use(builder1, 'm@1', [item(WORK, { index: g[0].index })], { time: '2026-12-06T12:00:05Z' }), builder1)]);
    await ledger.waitForCheckpoint(u[0].index);
    await ledger.close();
    const report = await serveAndAudit(dir);
    expect(report.clock).toMatchObject({ clockRecords: 2, lastClock: { index: 2, time: '2026-12-06T12:00:05Z' }, checkpointTime: '2026-12-06T12:00:05Z', usesByLoggedTime: 1, usesByClaimedTime: 0, faults: [] });
    expect(report.verdicts).toEqual({ consented: 1 });
  });
});

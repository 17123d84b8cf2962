/**
 * `pvl demo` against a real ledger (in-process hono app on node:http, LevelDB in a temp dir),
 * then `pvl audit` over the whole log: every verdict kind of spec/policy.md must appear, and the
 * report sections must name exactly the builders, works and grants the scenario set up.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createServer, type Server } from 'node:http';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { getRequestListener } from '@hono/node-server';
import { Command } from 'commander';
import { audit, type AuditResult } from '../../src/cli/commands/audit.js';
import { AuditReportCollector } from '../../src/cli/audit-report.js';
import type { KeyRef, TrainingUseRecord, UseItem, WorkId } from '../../src/records/index.js';
import { registerDemo, runDemo, type DemoResult } from '../../src/cli/commands/demo.js';
import { openLedger } from '../../src/ledger/index.js';
import { generatePrivateKey, verifierKeyOf } from '../../src/note/index.js';
import { nodeSigner } from '../../src/platform/node-signer.js';
import { VERDICT_PRECEDENCE, type ConsentPolicy } from '../../src/policy/index.js';
import { createApp } from '../../src/server/app.js';
import { LevelLogStore } from '../../src/store/index.js';
import { tempDir } from '../support/tmp.js';

const ORIGIN = 'test.example/demo';
const logKey = generatePrivateKey(ORIGIN);
const vkey = verifierKeyOf(logKey);
let dir: string;
const cleanups: Array<() => Promise<void>> = [];
let url: string;
let demo: DemoResult;
let report: AuditResult;

beforeAll(async () => {
  const tmp = await tempDir('pvl-demo-');
  dir = tmp.dir;
  const store = await LevelLogStore.open(join(dir, 'data'));
  const ledger = await openLedger({ store, origin: ORIGIN, signer: nodeSigner(logKey), integrateIntervalMs: 5 });
  const shutdown = new AbortController();
  const app = createApp({ ledger, log: ledger.log, vkey, shutdown: shutdown.signal, keepaliveMs: 60_000 });
  const server: Server = createServer(getRequestListener(app.fetch));
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  cleanups.push(async () => {
    shutdown.abort();
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
    await ledger.close();
    await tmp.cleanup();
  });
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  demo = await runDemo({ server: url, vkey, creators: 6, works: 2, uses: 3, seed: 'test-seed', out: join(dir, 'demo') });
  report = await audit({ server: url, vkey, evidenceDir: dir, witnessTimeout: 1000, manifestItemsMax: 100_000 });
  vi.restoreAllMocks();
}, 60_000);
afterAll(async () => {
  for (const c of cleanups) await c();
});

describe('pvl demo', () => {
  it('logs every record kind, saving keys (mode 0600) and proofs', async () => {
    expect(demo.records).toMatchObject({ creator: 6, 'consent-grant': 6 + 5, 'consent-revocation': 1, 'training-use': 3, 'model-lineage': 1, 'model-retirement': 1 });
    expect(demo.steps.map((s) => s.index)).toEqual(demo.steps.map((_, i) => i)); // a fresh log: one entry per step
    for (const p of [...demo.creators, ...demo.builders]) expect((await stat(p.keyFile)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'demo', 'proofs', `${demo.steps.length - 1}.json`))).isFile()).toBe(true);
  });

  it('makes audit show every verdict kind', () => {
    expect(report.treeSize).toBe(demo.steps.length);
    expect(report.invalidEntries).toBe(0);
    expect(Object.keys(report.verdicts).sort()).toEqual([...VERDICT_PRECEDENCE].sort());
    // atlas@1: 4 special items + 12 own; bolt@2: the same 16 by manifest; scout-0: 1–12 items.
    expect(report.itemsJudged).toBeGreaterThanOrEqual(33);
    expect(report.manifestItemsSkipped).toBe(0);
  });

  it('reports uses without consent by builder and model, disputed works, overdue retirements', () => {
    const [acme, globex] = demo.builders.map((b) => b.keyRef);
    const atlas = report.unconsented.find((r) => r.builder === acme && r.model === 'atlas@1')!;
    // creator 0's first work is disputed, its last withdrawn; creators 1–5 each fail one rule.
    expect(atlas.verdicts).toMatchObject({ 'no-consent': 1, 'unconsented-near-copy': 1, 'wrong-author': 1, disputed: 1, revoked: 2, 'commercial-not-allowed': 2, 'licensee-mismatch': 2, 'use-not-allowed': 2, 'retention-overdue': 2, expired: 2 });
    const bolt = report.unconsented.find((r) => r.builder === globex && r.model === 'bolt@2')!;
    expect(bolt.verdicts['retention-overdue']).toBeUndefined(); // bolt@2 was retired
    expect(bolt.verdicts['licensee-mismatch']).toBeUndefined(); // Globex is the licensee
    expect(report.disputedWorks).toHaveLength(1);
    expect(report.disputedWorks[0].claimants).toEqual([demo.creators[0].keyRef, demo.creators[5].keyRef]);
    const creator4Grant = demo.steps.find((s) => s.what.startsWith('creator-4 grants'))!.index;
    expect(report.overdueRetirements.find((r) => r.model === 'atlas@1')).toEqual({ builder: acme, model: 'atlas@1', grant: creator4Grant, retireBy: '2025-01-01T00:00:00Z', items: 2 });
    // Only creator 4's grant sets a deadline, and the retired bolt@2 is never overdue.
    expect(report.overdueRetirements.every((r) => r.grant === creator4Grant && r.model !== 'bolt@2')).toBe(true);
  });

  it('refuses too few creators with a usage error, and prints a table from the command', async () => {
    await expect(runDemo({ server: url, vkey, creators: 2, works: 2, uses: 2, seed: 's', out: join(dir, 'x') })).rejects.toThrow(/--creators/);
    const program = new Command('pvl').exitOverride();
    registerDemo(program);
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await program.parseAsync(['node', 'pvl', 'demo', '--server', url, '--vkey', vkey, '--creators', '6', '--works', '2', '--uses', '2', '--out', join(dir, 'demo2'), '--json']);
    } finally {
      vi.restoreAllMocks();
    }
    const json = JSON.parse(lines.join('\n')) as DemoResult;
    expect(json.steps[0].index).toBe(demo.steps.length);
    expect(json.records['training-use']).toBe(2);
  });
});

describe('AuditReportCollector', () => {
  const key = (c: string) => `ed25519:${c.repeat(64)}` as KeyRef;
  const useOf = (author: KeyRef, name: string) => ({ type: 'training-use', v: 1, author, time: '2026-01-01T00:00:00Z', model: { name, version: '1' }, purpose: 'training', commercial: false, items: [] }) as unknown as TrainingUseRecord;
  const item = (w: string): UseItem => ({ work: [`sha256:${w.repeat(64)}` as WorkId], consent: { none: true } });
  const policy = { grant: (i: number) => (i === 7 ? { record: { retireBy: '2025-01-01T00:00:00Z' } } : undefined) } as unknown as ConsentPolicy;

  it('groups by builder and model, unions claimants, and ignores consented items', () => {
    const r = new AuditReportCollector(policy);
    const [b, a] = [key('b'), key('a')];
    r.add(1, useOf(b, 'm'), item('1'), { verdict: 'disputed', reason: '', claimants: [key('c'), key('d')] });
    r.add(2, useOf(b, 'm'), item('1'), { verdict: 'disputed', reason: '', claimants: [key('c'), key('e')] });
    r.add(2, useOf(b, 'm'), item('2'), { verdict: 'retention-overdue', reason: '', claimants: [], consentIndex: 7 });
    r.add(3, useOf(a, 'z'), item('3'), { verdict: 'consented', reason: '', claimants: [] });
    r.add(3, useOf(a, 'z'), item('4'), { verdict: 'no-consent', reason: '', claimants: [] });
    expect(r.finish()).toEqual({
      unconsented: [
        { builder: a, model: 'z@1', uses: 1, items: 1, verdicts: { 'no-consent': 1 } },
        { builder: b, model: 'm@1', uses: 2, items: 3, verdicts: { disputed: 2, 'retention-overdue': 1 } },
      ],
      disputedWorks: [{ work: `sha256:${'1'.repeat(64)}`, claimants: [key('c'), key('d'), key('e')], items: 2 }],
      overdueRetirements: [{ builder: b, model: 'm@1', grant: 7, retireBy: '2025-01-01T00:00:00Z', items: 1 }],
    });
  });
});

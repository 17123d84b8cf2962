/**
 * The CLI end to end against a real `pvl serve` process in a temp dir (needs `npm run build`).
 * Work ids and leaf hashes are recomputed here with node:crypto as independent expectations.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from '../support/tmp.js';
import { startPvlServe } from '../support/pvl-serve.js';

const MAIN = resolve('dist/src/cli/main.js');
const run = promisify(execFile);
let dir: string;
let cleanup: () => Promise<void>;
let server: ChildProcess;
let url: string;

async function pvl(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run('node', [MAIN, ...args], { cwd: dir });
    return { stdout, stderr, code: 0 };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; code: number };
    return { stdout: err.stdout, stderr: err.stderr, code: err.code };
  }
}
const json = async (...args: string[]) => {
  const r = await pvl(...args, '--json');
  expect(r.stderr.split('\n').filter((l) => l.startsWith('pvl:') && !l.startsWith('pvl: note:'))).toEqual([]); // notes are not errors (spec/cli.md)
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
};
const sha256Id = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('pvl-cli-'));
  ({ server, url } = await startPvlServe(dir));
}, 20000);

afterAll(async () => {
  server?.kill('SIGTERM');
  await cleanup?.();
});

describe('pvl end to end', () => {
  it('keygen → register → grant → use declare → verify → watch --once → audit', async () => {
    const alice = await json('keygen', '--name', 'alice', '--out', 'alice.key');
    await json('keygen', '--name', 'bob', '--out', 'bob.key');
    expect((await stat(join(dir, 'alice.key'))).mode & 0o777).toBe(0o600);
    expect(alice.keyRef).toMatch(/^ed25519:[0-9a-f]{64}$/);
    const again = await pvl('keygen', '--name', 'alice', '--out', 'alice.key');
    expect(again.code).not.toBe(0);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);

    await writeFile(join(dir, 'a.txt'), 'first work');
    await writeFile(join(dir, 'b.txt'), 'second work');
    const ids = await json('work', 'id', 'a.txt', 'b.txt');
    expect(ids.map((r: { ids: string[] }) => r.ids[0])).toEqual([sha256Id('first work'), sha256Id('second work')]);
    const [wa, wb] = [sha256Id('first work'), sha256Id('second work')];

    const server = ['--server', url, '--vkey', 'log.vkey'];
    const creator = await json('creator', 'register', ...server, '--key', 'alice.key', '--name', 'Alice');
    const grant = await json('consent', 'grant', ...server, '--key', 'alice.key', '--work', wa, wb, '--allow', 'ai_training');
    // Next in the log, unless the log's clock record for a new second came first (spec/policy.md "The clock").
    expect([creator.index + 1, creator.index + 2]).toContain(grant.index);

    await writeFile(join(dir, 'items.csv'), `work,consent\n${wa},${grant.index}\n${wb},none\n`);
    const use = await json('use', 'declare', ...server, '--key', 'bob.key', '--model', 'm@1', '--items', 'items.csv');
    expect(use.manifest.count).toBe(2);
    const saved = JSON.parse(await readFile(join(dir, use.proofFile), 'utf8'));
    const leaf = createHash('sha256').update(Buffer.from([0])).update(Buffer.from(saved.entry, 'base64')).digest('hex');
    expect(leaf).toBe(use.leafHash);
    const verified = await json('verify', use.proofFile, '--vkey', 'log.vkey');
    expect(verified).toMatchObject({ ok: true, kind: 'record-proof', index: use.index, recordType: 'training-use' });

    // A tampered proof file is rejected with one line and exit ≠ 0.
    // (another valid record swapped in: its signature is fine, its inclusion is not)
    saved.entry = JSON.parse(await readFile(join(dir, creator.proofFile), 'utf8')).entry;
    await writeFile(join(dir, 'bad.json'), JSON.stringify(saved));
    const bad = await pvl('verify', 'bad.json', '--vkey', 'log.vkey');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);

    const watched = await pvl('watch', ...server, '--creator', 'alice.key', '--state', 'w.json', '--once', '--json');
    expect(watched.code).toBe(0);
    const reports = watched.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(reports.map((r) => [r.work, r.serverVerdict.verdict, r.proof])).toEqual([
      [wa, 'consented', 'verified'],
      [wb, 'no-consent', 'verified'],
    ]);
    const repeat = await pvl('watch', ...server, '--creator', 'alice.key', '--state', 'w.json', '--once', '--json');
    expect(repeat.stdout.trim()).toBe('');

    const uses = await (await fetch(`${url}/creators/${alice.keyRef}/uses`)).json();
    await writeFile(join(dir, 'bundle.json'), JSON.stringify(uses.uses[0].bundle));
    expect(await json('verify', 'bundle.json', '--vkey', 'log.vkey')).toMatchObject({ kind: 'proof-bundle', index: use.index });

    const audit = await json('audit', ...server, '--save', 'cp.txt');
    expect(audit).toMatchObject({ invalidEntries: 0, uses: 1, itemsJudged: 2, verdicts: { consented: 1, 'no-consent': 1 } });
    // Three records, each batch after a clock record of the log's for its second (the first one at least).
    expect(audit.records).toMatchObject({ creator: 1, 'consent-grant': 1, 'training-use': 1 });
    expect(audit.records.clock).toBeGreaterThanOrEqual(1);
    expect(audit.treeSize).toBe(3 + audit.records.clock);
    expect(audit.clock).toMatchObject({ clockRecords: audit.records.clock, usesByLoggedTime: 1, usesByClaimedTime: 0, faults: [] });
    expect((await json('audit', ...server, '--since', 'cp.txt')).consistentWithSaved).toBe(true);
  }, 60000);
});

describe('LedgerClient against the real server', () => {
  it('verifies honest data and rejects checkpoints that fork or lie about the root', async () => {
    const { LedgerClient, fetchVerifierKey } = await import('../../src/client/index.js');
    const { parsePrivateKey, nobleSigner, signCheckpoint } = await import('../../src/note/index.js');
    const client = new LedgerClient(url, { verifier: await fetchVerifierKey(url) });
    const latest = await client.checkpoint();
    expect(latest.checkpoint.size).toBeGreaterThanOrEqual(3);

    // Honest: every entry downloaded via tiles, root recomputed, inclusion of entry 1 proven (the
    // first record: entry 0 is the log's first clock record).
    let n = 0;
    for await (const _ of client.entries(latest.checkpoint)) n++;
    expect(n).toBe(latest.checkpoint.size);
    expect((await client.entry(0, latest.checkpoint)).value.record.payload.type).toBe('clock');
    expect((await client.entry(1, latest.checkpoint)).value.record.payload.type).toBe('creator');

    // The server's own key signs lies (as a compromised log would): they must still be caught.
    const logKey = nobleSigner(parsePrivateKey((await readFile(join(dir, 'data', 'log.key'), 'utf8')).trim()));
    const lie = (size: number, fill: number) =>
      client.openCheckpoint(signCheckpoint({ ...latest.checkpoint, size, rootHash: new Uint8Array(32).fill(fill) }, logKey)).checkpoint;
    await expect(client.checkConsistency(latest.checkpoint, lie(latest.checkpoint.size, 7))).rejects.toThrow(/forked/);
    await expect(client.checkConsistency(lie(2, 7), latest.checkpoint)).rejects.toThrow(/not consistent/);
    await expect(client.checkConsistency(latest.checkpoint, lie(latest.checkpoint.size - 1, 7))).rejects.toThrow(/below the trusted/);
    const entries = async () => { for await (const _ of client.entries(lie(latest.checkpoint.size, 9))); };
    await expect(entries()).rejects.toThrow(/different root/);
    await expect(client.entry(0, lie(latest.checkpoint.size, 9))).rejects.toThrow(/not in checkpoint/);
    // An edited note (signature no longer matches) is refused outright.
    expect(() => client.openCheckpoint(latest.note.replace(/\n\d+\n/, '\n1\n'))).toThrow();
  }, 30000);
});

/**
 * The real `pvl serve` process (dist/src/cli/main.js; `npm test` builds first through pretest):
 * first start prints the verifier key and where it listens, a submission with ?wait=checkpoint
 * returns a proof that verifies, SIGTERM exits 0, a restart keeps the data and the key, and a
 * second process on the same data directory fails with one line.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyInclusion } from '../../src/merkle/index.js';
import { openCheckpoint, parseVerifierKey } from '../../src/note/index.js';
import { nodeHasher } from '../../src/platform/node-hasher.js';
import { formatRecordTime, signRecord } from '../../src/records/index.js';
import { alice, creator, verify } from '../records/fixtures.js';
import { tempDir } from '../support/tmp.js';

const MAIN = join(import.meta.dirname, '../../dist/src/cli/main.js');
const ORIGIN = 'test.example/serve';

const running: ChildProcess[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const p of running.splice(0)) if (p.exitCode === null) p.kill('SIGKILL');
  for (const c of cleanups.splice(0)) await c();
});

interface Started {
  proc: ChildProcess;
  lines: string[];
  url: string;
  exit: Promise<number | null>;
}

/** Starts `pvl serve` and resolves once it printed its listening line. */
function start(dataDir: string): Promise<Started> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
  const proc = spawn(process.execPath, [MAIN, 'serve', '--data', dataDir, '--port', '0', '--origin', ORIGIN], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(proc);
  const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      lines.push(line);
      const m = /^listening on (http:\/\/\S+)$/.exec(line);
      if (m) resolve({ proc, lines, url: m[1], exit });
    });
    let stderr = '';
    proc.stderr!.on('data', (d) => (stderr += d));
    void exit.then((code) => reject(new Error(`pvl serve exited ${code} before listening: ${stderr}`)));
  });
}

/** Runs `pvl serve` expecting it to fail; returns its exit code and stderr. */
async function startFailing(dataDir: string): Promise<{ code: number | null; stderr: string }> {
  const proc = spawn(process.execPath, [MAIN, 'serve', '--data', dataDir, '--port', '0', '--origin', ORIGIN], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(proc);
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
  return { code, stderr };
}

describe('pvl serve', () => {
  it('serves, proves, stops on SIGTERM with exit 0 and keeps its data across restarts', async () => {
    const { dir, cleanup } = await tempDir('pvl-serve-');
    cleanups.push(cleanup);
    const first = await start(dir);
    expect(first.lines).toHaveLength(2);
    const keyLine = /^verifier key: (\S+)$/.exec(first.lines[0]);
    expect(keyLine).not.toBeNull();
    const verifier = parseVerifierKey(keyLine![1]);
    expect(verifier.name).toBe(ORIGIN);
    expect((await stat(join(dir, 'log.key'))).mode & 0o777).toBe(0o600);
    expect(await (await fetch(`${first.url}/log/vkey`)).text()).toBe(`${keyLine![1]}\n`);

    const entry = signRecord(creator(alice, { time: formatRecordTime(new Date()) }), alice.signer, { verify });
    const res = await fetch(`${first.url}/records?wait=checkpoint`, { method: 'POST', body: Buffer.from(entry).toString(), headers: { 'Content-Type': 'application/json' } });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { index: number; leafHash: string; checkpoint: string; proof: string };
    const { checkpoint } = openCheckpoint(body.checkpoint, verifier);
    const proofLines = body.proof.slice(0, body.proof.indexOf('\n\n')).split('\n').slice(2);
    verifyInclusion(nodeHasher, body.index, checkpoint.size, nodeHasher.hashLeaf(entry), proofLines.map((l) => new Uint8Array(Buffer.from(l, 'base64'))), checkpoint.rootHash);

    // A second process on the same directory: one line, non-zero exit.
    const second = await startFailing(dir);
    expect(second.code).not.toBe(0);
    expect(second.stderr.trim().split('\n')).toHaveLength(1);
    expect(second.stderr).toMatch(/in use by another process/);

    first.proc.kill('SIGTERM');
    expect(await first.exit).toBe(0);

    const again = await start(dir);
    expect(again.lines).toHaveLength(1); // no new key
    const cp = await (await fetch(`${again.url}/checkpoint`)).text();
    const reopened = openCheckpoint(cp, verifier).checkpoint;
    expect(reopened.size).toBe(checkpoint.size);
    const dup = await fetch(`${again.url}/records`, { method: 'POST', body: Buffer.from(entry).toString(), headers: { 'Content-Type': 'application/json' } });
    expect(dup.status).toBe(200);
    expect(await dup.json()).toMatchObject({ index: body.index, duplicate: true });
    again.proc.kill('SIGINT');
    expect(await again.exit).toBe(0);
  }, 20_000);
});

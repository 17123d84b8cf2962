/**
 * Witnessing end to end with real processes (dist/src/cli/main.js; `npm test` builds first):
 * a `pvl serve` asking three real `pvl witness serve` processes, 2-of-3 quorum.
 * - published checkpoints carry ≥ 2 cosignatures that verify with the witnesses' keys, and
 *   `pvl verify` accepts them under --witness/--quorum and under a tlog-policy file, and refuses
 *   a quorum they do not meet;
 * - a frozen witness (SIGSTOP: it accepts connections and never answers) delays a
 *   ?wait=checkpoint submission by no more than its timeout (+1 s), and /metrics shows it down;
 * - a fork (same key, different history, built with Log + LevelLogStore) is refused by every
 *   witness (409/422) and caught by `pvl audit`, whose evidence file `pvl verify --evidence`
 *   confirms.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Log } from '../../src/log/index.js';
import { formatCosignerVerifierKey, formatPrivateKey, generatePrivateKey, openCheckpoint, openCheckpointWithPolicy, parseVerifierKey, simplePolicy, verifierKeyOf } from '../../src/note/index.js';
import { nodeHasher } from '../../src/platform/node-hasher.js';
import { nodeSigner } from '../../src/platform/node-signer.js';
import { formatRecordTime, signRecord } from '../../src/records/index.js';
import { LevelLogStore } from '../../src/store/index.js';
import { requestCosignature } from '../../src/witness/client.js';
import { WitnessError } from '../../src/witness/errors.js';
import { alice, bob, builder1, creator, grant, item, sha256Id, use, verify } from '../records/fixtures.js';
import { tempDir } from '../support/tmp.js';

const MAIN = join(import.meta.dirname, '../../dist/src/cli/main.js');
const ORIGIN = 'test.example/witnessed-log';
const TIMEOUT_MS = 1000;
const run = promisify(execFile);

const logKey = generatePrivateKey(ORIGIN);
const logVkey = verifierKeyOf(logKey);
const procs: ChildProcess[] = [];
let dir: string;
let cleanup: () => Promise<void>;
let logUrl: string;
let forkUrl: string;
const witnesses: Array<{ name: string; vkey: string; url: string; proc: ChildProcess }> = [];

/** Starts a pvl process and resolves with its stdout lines once it prints "listening on URL". */
function start(args: string[]): Promise<{ proc: ChildProcess; lines: string[]; url: string }> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
  const proc = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(proc);
  const lines: string[] = [];
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      lines.push(line);
      const m = /^listening on (http:\/\/\S+)$/.exec(line);
      if (m) resolve({ proc, lines, url: m[1] });
    });
    proc.once('exit', (code) => reject(new Error(`pvl ${args[0]} exited ${code}: ${stderr}`)));
  });
}

async function pvl(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [MAIN, ...args], { cwd: dir });
    return { stdout, stderr, code: 0 };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; code: number };
    return { stdout: err.stdout, stderr: err.stderr, code: err.code };
  }
}

/** Submits one creator record with ?wait=checkpoint; returns the answer and how long it took. */
function submit(url: string, n: number): Promise<{ body: { index: number; checkpoint: string; proof: string; leafHash: string }; ms: number }> {
  return post(url, signRecord(creator(alice, { name: `creator ${n}`, time: formatRecordTime(new Date()) }), alice.signer, { verify }));
}

async function post(url: string, entry: Uint8Array): Promise<{ body: { index: number; checkpoint: string; proof: string; leafHash: string }; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/records?wait=checkpoint`, { method: 'POST', body: Buffer.from(entry).toString(), headers: { 'Content-Type': 'application/json' } });
  const ms = performance.now() - t0;
  expect(res.status).toBe(201);
  return { body: await res.json(), ms };
}

const metric = (text: string, name: string, witness?: string) => {
  const label = witness ? `{witness="${witness}"}` : '';
  const line = text.split('\n').find((l) => l.startsWith(`${name}${label} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
};

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('pvl-witnessed-'));
  await mkdir(join(dir, 'log'), { recursive: true });
  await writeFile(join(dir, 'log', 'log.key'), formatPrivateKey(logKey.name, logKey.seed) + '\n', { mode: 0o600 });
  await writeFile(join(dir, 'log.vkey'), logVkey + '\n');
  for (const name of ['w1', 'w2', 'w3']) {
    const w = await start(['witness', 'serve', '--data', join(dir, name), '--port', '0', '--name', `${name}.test.example`, '--log', `${ORIGIN}=${logVkey}`]);
    const vkey = /cosigner verifier key: (\S+)/.exec(w.lines.join('\n'))![1];
    witnesses.push({ name, vkey, url: w.url, proc: w.proc });
  }
  const flags = witnesses.flatMap((w) => ['--witness', `${w.name}=${w.vkey}@${w.url}`]);
  logUrl = (await start(['serve', '--data', join(dir, 'log'), '--port', '0', '--origin', ORIGIN, ...flags, '--witness-quorum', '2', '--witness-timeout', String(TIMEOUT_MS)])).url;
}, 30000);

afterAll(async () => {
  for (const p of procs) {
    if (p.exitCode !== null) continue;
    p.kill('SIGCONT');
    p.kill('SIGKILL');
  }
  await cleanup?.();
});

describe('a ledger with three witnesses, quorum 2', () => {
  it('publishes cosigned checkpoints that verify under a 2-of-3 policy (client and pvl verify)', async () => {
    const { body } = await submit(logUrl, 1);
    const policy = simplePolicy(logVkey, witnesses.map((w) => w.vkey), 2, verify);
    const opened = openCheckpointWithPolicy(body.checkpoint, policy);
    expect(opened.checkpoint.size).toBeGreaterThan(body.index);
    expect(opened.cosigners.length).toBeGreaterThanOrEqual(2);

    const published = await (await fetch(`${logUrl}/checkpoint`)).text();
    expect(openCheckpointWithPolicy(published, policy).checkpoint.size).toBeGreaterThanOrEqual(opened.checkpoint.size);

    const { LedgerClient } = await import('../../src/client/index.js');
    const client = new LedgerClient(logUrl, { policy });
    expect((await client.checkpoint()).checkpoint.size).toBeGreaterThan(body.index);
    // Three witnesses cannot all be required if the checkpoint only needs two: a client asking for
    // a witness that never signs (a fresh key) refuses.
    const stranger = generatePrivateKey('stranger.test.example');
    const strict = simplePolicy(logVkey, [witnesses[0].vkey, formatCosigner(stranger)], 2, verify);
    await expect(new LedgerClient(logUrl, { policy: strict }).checkpoint()).rejects.toThrow(/quorum/);

    await writeFile(join(dir, 'proof.txt'), body.proof);
    const keys = witnesses.flatMap((w) => ['--witness', w.vkey]);
    const ok = await pvl('verify', 'proof.txt', '--leaf-hash', body.leafHash, '--vkey', 'log.vkey', ...keys, '--quorum', '2', '--json');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).cosigners.length).toBeGreaterThanOrEqual(2);

    const policyFile = [`log ${logVkey}`, ...witnesses.map((w) => `witness ${w.name} ${w.vkey} ${w.url}`), `group two-of-three 2 ${witnesses.map((w) => w.name).join(' ')}`, 'quorum two-of-three', ''].join('\n');
    await writeFile(join(dir, 'policy.txt'), policyFile);
    expect((await pvl('verify', 'proof.txt', '--leaf-hash', body.leafHash, '--vkey', 'log.vkey', '--policy', 'policy.txt')).code).toBe(0);

    const metrics = await (await fetch(`${logUrl}/metrics`)).text();
    expect(metric(metrics, 'pvl_published_size')).toBeGreaterThanOrEqual(opened.checkpoint.size);
    const up = witnesses.map((w) => metric(metrics, 'pvl_witness_up', w.name));
    expect(up.filter((v) => v === 1).length).toBeGreaterThanOrEqual(2);
  }, 30000);

  it('a frozen witness delays a ?wait=checkpoint submission by no more than its timeout', async () => {
    const frozen = witnesses[2];
    frozen.proc.kill('SIGSTOP');
    try {
      const results = [];
      for (let n = 10; n < 13; n++) results.push(await submit(logUrl, n));
      if (process.env.PVL_PRINT_TIMES) console.log('wait=checkpoint with a frozen witness, ms:', results.map((r) => Math.round(r.ms)));
      for (const r of results) expect(r.ms).toBeLessThan(TIMEOUT_MS + 1000);
      const last = results[2].body;
      const opened = openCheckpointWithPolicy(last.checkpoint, simplePolicy(logVkey, witnesses.map((w) => w.vkey), 2, verify));
      expect(opened.cosigners.map((c) => c.name)).not.toContain(`${frozen.name}.test.example`);
      // All three are required: the checkpoint cosigned by two is refused by pvl verify.
      await writeFile(join(dir, 'proof2.txt'), last.proof);
      const keys = witnesses.flatMap((w) => ['--witness', w.vkey]);
      const refused = await pvl('verify', 'proof2.txt', '--leaf-hash', last.leafHash, '--vkey', 'log.vkey', ...keys, '--quorum', '3');
      expect(refused.code).toBe(1);
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
      expect(refused.stderr).toMatch(/quorum/);

      await new Promise((r) => setTimeout(r, TIMEOUT_MS + 200));
      const metrics = await (await fetch(`${logUrl}/metrics`)).text();
      expect(metric(metrics, 'pvl_witness_up', frozen.name)).toBe(0);
      expect(metric(metrics, 'pvl_witness_cosigned_size', witnesses[0].name)).toBeGreaterThan(last.index);
    } finally {
      frozen.proc.kill('SIGCONT');
    }
  }, 30000);

  it('a fork with the same key is refused by the witnesses and caught by pvl audit with evidence', async () => {
    const honest = openCheckpoint(await (await fetch(`${logUrl}/checkpoint`)).text(), parseVerifierKey(logVkey)).checkpoint;
    // The fork: the same key signs a different history, longer than what the witnesses saw.
    const forkDir = join(dir, 'fork');
    await mkdir(forkDir, { recursive: true });
    const store = await LevelLogStore.open(join(forkDir, 'store'));
    const fork = await Log.open(store, { origin: ORIGIN, signer: nodeSigner(logKey), hasher: nodeHasher });
    const entries = Array.from({ length: honest.size + 3 }, (_, n) => signRecord(creator(bob, { name: `forked ${n}` }), bob.signer, { verify }));
    await fork.append(entries);
    await fork.integrate();
    const forkNote = new TextDecoder().decode(fork.checkpoint.note);
    for (const w of witnesses) {
      const seen = await fetch(`${w.url}/checkpoints/${encodeURIComponent(ORIGIN)}`);
      const latest = seen.status === 200 ? sizeOf(await seen.text()) : 0;
      expect(latest).toBeGreaterThan(0);
      const proof = latest === 0 ? [] : await fork.consistencyProof(latest, fork.checkpoint.checkpoint.size);
      const status = await requestCosignature(w.url, { oldSize: latest, proof, checkpointNote: forkNote }, 5000).then(
        () => 200,
        (e: WitnessError) => e.status,
      );
      expect([409, 422]).toContain(status);
    }
    await fork.close();
    await writeFile(join(forkDir, 'log.key'), formatPrivateKey(logKey.name, logKey.seed) + '\n', { mode: 0o600 });

    // The operator shows the fork to an auditor, unwitnessed.
    const forked = await start(['serve', '--data', forkDir, '--port', '0', '--origin', ORIGIN]);
    forkUrl = forked.url;
    await mkdir(join(dir, 'evidence'), { recursive: true });
    const witnessFlags = witnesses.flatMap((w) => ['--witness', `${w.vkey}@${w.url}`]);
    const audit = await pvl('audit', '--server', forked.url, '--vkey', 'log.vkey', ...witnessFlags, '--quorum', '2', '--evidence-dir', 'evidence');
    expect(audit.code).toBe(3);
    expect(audit.stderr).toMatch(/split view/);
    const files = await readdir(join(dir, 'evidence'));
    expect(files.length).toBeGreaterThanOrEqual(1);
    const evidencePath = join('evidence', files[0]);
    const evidence = JSON.parse(await readFile(join(dir, evidencePath), 'utf8'));
    expect(evidence.logVkey).toBe(logVkey);
    expect(evidence.kind).toBe('prefix-mismatch');

    const holds = await pvl('verify', '--evidence', evidencePath, '--vkey', 'log.vkey');
    expect(holds.code).toBe(0);
    expect(holds.stdout).toMatch(/evidence holds/);

    // The same file with both notes from one history does not hold.
    const honestOnly = { ...evidence, second: { ...evidence.first } };
    await writeFile(join(dir, 'not-evidence.json'), JSON.stringify(honestOnly));
    expect((await pvl('verify', '--evidence', 'not-evidence.json', '--vkey', 'log.vkey')).code).toBe(1);

    // The honest log passes the same audit, and the fork is refused under the witness policy.
    expect((await pvl('audit', '--server', logUrl, '--vkey', 'log.vkey', ...witnessFlags, '--quorum', '2', '--evidence-dir', 'evidence', '--json')).code).toBe(0);
    const refused = await pvl('audit', '--server', forked.url, '--vkey', 'log.vkey', '--witness', witnesses[0].vkey, '--quorum', '1');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/quorum/);
  }, 60000);

  it('pvl watch under the policy reports witnessed uses, and reports the fork as a split view', async () => {
    const work = sha256Id('watched work');
    // pvl serve admits claimed times within its clock skew (spec/api.md, clock-skew) only.
    const time = formatRecordTime(new Date());
    const granted = await post(logUrl, signRecord(grant(alice, [[work]], { time }), alice.signer, { verify }));
    await post(logUrl, signRecord(use(builder1, 'm@1', [item(work, { index: granted.body.index })], { time }), builder1.signer, { verify }));
    const trust = [...witnesses.flatMap((w) => ['--witness', `${w.vkey}@${w.url}`]), '--quorum', '2', '--evidence-dir', 'watch-evidence'];
    const watched = await pvl('watch', '--server', logUrl, '--vkey', 'log.vkey', '--creator', alice.ref, '--once', '--json', ...trust);
    expect(watched.code).toBe(0);
    const reports = watched.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(reports.map((r) => [r.work, r.serverVerdict.verdict, r.proof])).toEqual([[work, 'consented', 'verified']]);

    const onFork = await pvl('watch', '--server', forkUrl, '--vkey', 'log.vkey', '--creator', alice.ref, '--once', ...trust);
    expect(onFork.code).toBe(1);
    expect(onFork.stderr).toMatch(/split view/);
    const saved = await readdir(join(dir, 'watch-evidence'));
    expect(saved.length).toBeGreaterThanOrEqual(1);
    expect((await pvl('verify', '--evidence', join('watch-evidence', saved[0]), '--vkey', 'log.vkey')).code).toBe(0);
  }, 30000);
});

/** A witness vkey (type 0x04) for a key no witness here holds. */
function formatCosigner(key: ReturnType<typeof generatePrivateKey>): string {
  return formatCosignerVerifierKey(key.name, key.publicKey);
}

/** The size line of a checkpoint note. */
function sizeOf(note: string): number {
  return Number(note.split('\n')[1]);
}

/**
 * Command-line benchmarks (issue 5):
 *  audit.replay     — `pvl audit` of a 1,000,000-record log (quick: 100,000): download every
 *                     entry bundle, recompute the root, verify every signature, replay the policy.
 *                     The log is built fast: pre-signed records appended through the Log API into
 *                     a data directory, then served by a real `pvl serve` process; the audit runs
 *                     in this process (the same code as the command).
 *  manifest.declare — `pvl use declare` of 10,000,000 items (quick: 1,000,000) from a CSV file
 *                     against a running server: two passes over the file and the streamed upload;
 *                     also the command's peak RSS and each process's CPU seconds (Linux).
 *  audit.manifest   — then `pvl audit` of that log: the manifest downloaded whole, checked
 *                     against the record's root, every item judged.
 * All report the 1-minute load average, since the machine is shared.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { audit } from '../src/cli/commands/audit.js';
import { Log } from '../src/log/index.js';
import { formatPrivateKey, generatePrivateKey, verifierKeyOf } from '../src/note/index.js';
import { nodeEd25519Verify, nodeSigner } from '../src/platform/node-signer.js';
import { nodeHasher } from '../src/platform/node-hasher.js';
import { signRecord, type TrainingUseRecord } from '../src/records/index.js';
import { LevelLogStore } from '../src/store/index.js';
import { grantEntry, makeAuthors, workOf } from './_records.js';
import { SERVER_NODE_FLAGS } from './_server-process.js';
import { type Bench, type BenchResult, secondsSince } from './harness.js';

const ORIGIN = 'bench.example/cli';
const MAIN = resolve(import.meta.dirname, '..', 'src', 'cli', 'main.js');
const load1 = () => Math.round(loadavg()[0] * 100) / 100;

/** Consent grants, with a training use of 16 earlier grants every 100th record. */
function* presignedRecords(count: number): Generator<Uint8Array> {
  const creators = makeAuthors(64);
  const [builder] = makeAuthors(1, 'builder');
  for (let n = 0; n < count; n++) {
    if (n % 100 !== 99) {
      yield grantEntry(creators, n);
      continue;
    }
    const items = Array.from({ length: 16 }, (_, k) => ({ work: [workOf(String(n - 1 - k))], consent: { index: n - 1 - k } }));
    const use = { type: 'training-use', v: 1, author: builder.ref, time: '2026-01-02T00:00:00Z', model: { name: 'bench', version: String(n) }, purpose: 'training', commercial: false, items } as TrainingUseRecord;
    yield signRecord(use, builder.signer, { verify: nodeEd25519Verify });
  }
}

/** A data directory as `pvl serve --data` expects: `log.key` and `store/` holding `count` records. */
async function buildDataDir(dir: string, count: number): Promise<{ vkey: string }> {
  const key = generatePrivateKey(ORIGIN);
  await writeFile(join(dir, 'log.key'), formatPrivateKey(key.name, key.seed) + '\n', { mode: 0o600 });
  const store = await LevelLogStore.open(join(dir, 'store'));
  const log = await Log.open(store, { origin: ORIGIN, signer: nodeSigner(key), hasher: nodeHasher });
  let batch: Uint8Array[] = [];
  for (const entry of presignedRecords(count)) {
    batch.push(entry);
    if (batch.length === 10_000) {
      await log.append(batch);
      batch = [];
    }
  }
  if (batch.length) await log.append(batch);
  while (log.checkpoint.checkpoint.size < count) await log.integrate();
  await log.close(); // closes the store too
  return { vkey: verifierKeyOf(key) };
}

/** Starts `pvl serve` on a data directory and resolves with its URL once it listens. */
async function serve(dataDir: string): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, [...SERVER_NODE_FLAGS, MAIN, 'serve', '--data', dataDir, '--port', '0', '--origin', ORIGIN], { stdio: ['ignore', 'pipe', 'inherit'] });
  for await (const line of createInterface({ input: proc.stdout! })) {
    const m = /^listening on (http:\/\/\S+)$/.exec(line);
    if (m) return { proc, url: m[1] };
  }
  throw new Error('pvl serve exited before listening');
}

async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  proc.kill('SIGTERM');
  await once(proc, 'exit');
}

async function auditReplay(records: number, dir: string): Promise<BenchResult> {
  const data = join(dir, 'audit-data');
  await mkdir(data, { recursive: true });
  const { vkey } = await buildDataDir(data, records);
  const { proc, url } = await serve(data);
  try {
    const start = performance.now();
    const s = await audit({ server: url, vkey, evidenceDir: dir, witnessTimeout: 1000, manifestItemsMax: 0 });
    const seconds = secondsSince(start);
    if (s.treeSize !== records || s.invalidEntries !== 0) throw new Error(`audit saw ${s.treeSize} entries, ${s.invalidEntries} invalid`);
    return { name: 'audit.replay', records, items_judged: s.itemsJudged, seconds, records_per_s: records / seconds, load_avg_1m: load1() };
  } finally {
    await stop(proc);
  }
}

/** Writes `count` CSV items (distinct works, no consent) in large chunks. */
async function writeItems(path: string, count: number): Promise<void> {
  const out = createWriteStream(path);
  const prefix = 'sha256:' + '0'.repeat(48);
  for (let at = 0; at < count; at += 50_000) {
    let chunk = '';
    for (let n = at; n < Math.min(count, at + 50_000); n++) chunk += `${prefix}${n.toString(16).padStart(16, '0')},none\n`;
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** The kernel's record of a process's peak RSS (VmHWM, Linux), in MiB; undefined elsewhere or once it has gone. */
async function peakRssMb(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
  return kb === undefined ? undefined : Number(kb) / 1024;
}

/** CPU seconds (user + system, all threads) a process has used so far (Linux); undefined elsewhere or once it has gone. */
async function cpuSeconds(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields.length > 13 ? (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS : undefined;
}
/** USER_HZ: 100 on every Linux this runs on (sysconf(_SC_CLK_TCK)). */
const CLOCK_TICKS = 100;

/** Runs `pvl`; its stdout, peak RSS and CPU time as last seen (polled: the kernel forgets them at exit). */
async function runCli(args: string[]): Promise<{ stdout: string; peakRssMb?: number; cpuSeconds?: number }> {
  const proc = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
  let stdout = '';
  proc.stdout!.on('data', (d) => (stdout += d));
  const exited = new Promise<number | null>((ok) => proc.on('exit', ok));
  let peak: number | undefined;
  let cpu: number | undefined;
  const poll = setInterval(async () => {
    peak = (await peakRssMb(proc.pid!)) ?? peak;
    cpu = (await cpuSeconds(proc.pid!)) ?? cpu;
  }, 100);
  const code = await exited;
  clearInterval(poll);
  if (code !== 0) throw new Error(`pvl ${args[0]} exited ${code}`);
  return { stdout, peakRssMb: peak, cpuSeconds: cpu };
}

async function manifestDeclare(items: number, dir: string): Promise<BenchResult[]> {
  const data = join(dir, 'declare-data');
  const { proc, url } = await serve(data);
  try {
    const itemsFile = join(dir, 'items.csv');
    await writeItems(itemsFile, items);
    const builder = generatePrivateKey('bench-builder');
    const keyFile = join(dir, 'builder.key');
    await writeFile(keyFile, formatPrivateKey(builder.name, builder.seed) + '\n', { mode: 0o600 });
    const vkey = (await (await fetch(`${url}/log/vkey`)).text()).trim();
    const serverCpuBefore = await cpuSeconds(proc.pid!);
    const start = performance.now();
    const run = await runCli(['use', 'declare', '--server', url, '--vkey', vkey, '--key', keyFile, '--model', 'bench@1', '--items', itemsFile, '--proof-out', join(dir, 'proof.json'), '--json']);
    const seconds = secondsSince(start);
    const out = JSON.parse(run.stdout);
    if (out.manifest.count !== items) throw new Error(`declared ${out.manifest.count} items, expected ${items}`);
    const result: BenchResult = { name: 'manifest.declare', items, seconds, items_per_s: items / seconds };
    if (run.peakRssMb !== undefined) result.cli_peak_rss_mb = Math.round(run.peakRssMb);
    // Where the time went, on a machine both processes share: CPU seconds of each (polled).
    if (run.cpuSeconds !== undefined) result.cli_cpu_s = Number(run.cpuSeconds.toFixed(1));
    const serverCpuAfter = await cpuSeconds(proc.pid!);
    if (serverCpuBefore !== undefined && serverCpuAfter !== undefined) result.server_cpu_s = Number((serverCpuAfter - serverCpuBefore).toFixed(1));
    const declared = { ...result, load_avg_1m: load1() };
    return [declared, await auditManifest(url, vkey, items, dir)];
  } finally {
    await stop(proc);
  }
}

/**
 * `pvl audit` (in process) of the log the declare left: one training use whose manifest is
 * downloaded whole, checked against the record's root (hashing in worker threads) and every
 * item judged. Starts once the server has indexed the use, so that work is not measured too.
 */
async function auditManifest(url: string, vkey: string, items: number, dir: string): Promise<BenchResult> {
  for (;;) {
    const health = (await (await fetch(`${url}/healthz`)).json()) as { treeSize: number; indexed: number };
    if (health.treeSize > 0 && health.indexed >= health.treeSize) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const start = performance.now();
  const s = await audit({ server: url, vkey, evidenceDir: dir, witnessTimeout: 1000, manifestItemsMax: Number.MAX_SAFE_INTEGER });
  const seconds = secondsSince(start);
  if (s.itemsJudged !== items) throw new Error(`audit judged ${s.itemsJudged} items, expected ${items}`);
  return { name: 'audit.manifest', items, seconds, items_per_s: items / seconds, load_avg_1m: load1() };
}

/** Runs one bench in a temporary directory of its own. */
async function inTempDir(bench: (dir: string) => Promise<BenchResult | BenchResult[]>): Promise<BenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'pvl-bench-cli-'));
  try {
    return [await bench(dir)].flat();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `--only cli` runs both; `--only audit` or `--only declare` one of them. */
export const benches: Bench[] = [
  { group: 'cli', name: 'audit', run: ({ quick }) => inTempDir((dir) => auditReplay(quick ? 100_000 : 1_000_000, dir)) },
  { group: 'cli', name: 'declare', run: ({ quick }) => inTempDir((dir) => manifestDeclare(quick ? 1_000_000 : 10_000_000, dir)) },
];

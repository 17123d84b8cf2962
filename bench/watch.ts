/**
 * `watch` group (issue 5: "watch notices a new use within 2 s of its checkpoint"). A real
 * `pvl serve` and a real `pvl watch --creator … --json` following it over server-sent events;
 * a builder declares uses of the creator's works one at a time with ?wait=checkpoint, and the
 * bench times each use until watch has printed it with its proof verified:
 *  - from_checkpoint_ms: from the moment the server answered (the use is then in a signed
 *    checkpoint, so the true checkpoint time is a little earlier),
 *  - from_submit_ms: from the moment the use was sent (an upper bound on checkpoint → notice).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { nodeEd25519Verify } from '../src/platform/node-signer.js';
import { type TrainingUseRecord, signRecord } from '../src/records/index.js';
import { type Bench, type BenchResult, percentile } from './harness.js';
import { grantEntry, makeAuthors, recordNow, workOf } from './_records.js';
import { SERVER_NODE_FLAGS, cliPath, freePort, startServer } from './_server-process.js';

const decoder = new TextDecoder();

async function postRecords(url: string, entries: Uint8Array[]): Promise<Array<{ index: number }>> {
  const res = await fetch(`${url}/records?wait=checkpoint`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `[${entries.map((e) => decoder.decode(e)).join(',')}]` });
  if (res.status !== 201 && res.status !== 200) throw new Error(`POST /records answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { results: Array<{ index: number }> }).results;
}

/** Lines watch prints, by use id ("<useIndex>.<position>"), resolved when they arrive. */
class WatchedLines {
  private readonly seen = new Map<string, number>();
  private readonly waiting = new Map<string, (at: number) => void>();

  constructor(proc: ChildProcess) {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const at = performance.now();
      const { id } = JSON.parse(line) as { id: string };
      this.seen.set(id, at);
      this.waiting.get(id)?.(at);
    });
  }

  arrival(id: string, timeoutMs: number): Promise<number> {
    const at = this.seen.get(id);
    if (at !== undefined) return Promise.resolve(at);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`watch did not report use ${id} within ${timeoutMs} ms`)), timeoutMs);
      this.waiting.set(id, (t) => {
        clearTimeout(timer);
        resolve(t);
      });
    });
  }
}

async function watchNotice(uses: number): Promise<BenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'pvl-bench-watch-'));
  let server: ChildProcess | undefined;
  let watcher: ChildProcess | undefined;
  try {
    const port = await freePort();
    const started = await startServer(join(dir, 'data'), port);
    server = started.child;
    const vkey = /verifier key: (\S+)/.exec(started.output)![1];
    const url = `http://127.0.0.1:${port}`;
    const [creator] = makeAuthors(1, 'watched-creator');
    const [builder] = makeAuthors(1, 'watch-builder');
    const grants = await postRecords(url, Array.from({ length: uses + 1 }, (_, n) => grantEntry([creator], n, `watched ${n}`)));
    watcher = spawn(process.execPath, [...SERVER_NODE_FLAGS, cliPath, 'watch', '--server', url, '--vkey', vkey, '--creator', creator.ref, '--json', '--state', join(dir, 'watch.json')], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = new WatchedLines(watcher);
    const declare = async (n: number) => {
      const payload: TrainingUseRecord = {
        type: 'training-use', v: 1, author: builder.ref, time: recordNow(),
        model: { name: 'watched-model', version: String(n) }, purpose: 'generative-training', commercial: false,
        items: [{ work: [workOf(`watched ${n}`)], consent: { index: grants[n].index } }] as TrainingUseRecord['items'],
      };
      const sent = performance.now();
      const [{ index }] = await postRecords(url, [signRecord(payload, builder.signer, { verify: nodeEd25519Verify })]);
      const checkpointed = performance.now();
      const noticed = await lines.arrival(`${index}.0`, 30_000);
      return { fromSubmit: noticed - sent, fromCheckpoint: noticed - checkpointed };
    };
    await declare(uses); // warm-up: the watcher has connected and caught up
    const fromSubmit: number[] = [];
    const fromCheckpoint: number[] = [];
    for (let n = 0; n < uses; n++) {
      const t = await declare(n);
      fromSubmit.push(t.fromSubmit);
      fromCheckpoint.push(t.fromCheckpoint);
      await new Promise((r) => setTimeout(r, 100));
    }
    return {
      name: 'watch.notice',
      uses,
      from_checkpoint_p50_ms: percentile(fromCheckpoint, 50),
      from_checkpoint_max_ms: Math.max(...fromCheckpoint),
      from_submit_p50_ms: percentile(fromSubmit, 50),
      from_submit_max_ms: Math.max(...fromSubmit),
    };
  } finally {
    for (const child of [watcher, server]) {
      if (child && child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    }
    await rm(dir, { recursive: true, force: true });
  }
}

export const benches: Bench[] = [{ group: 'watch', run: ({ quick }) => watchNotice(quick ? 10 : 40).then((r) => [r]) }];

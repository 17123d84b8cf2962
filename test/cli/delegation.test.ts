/**
 * Rights holders, agents, rulings and claim notices through the CLI, against a real `pvl serve`
 * (dist/src/cli/main.js; `npm test` builds first): `pvl delegate`, `pvl consent grant
 * --on-behalf-of`, `pvl delegate revoke`, `pvl ruling`, and `pvl watch` telling a creator — in
 * text and in JSON — that another key claimed their work.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/tmp.js';

const MAIN = resolve('dist/src/cli/main.js');
const run = promisify(execFile);
const procs: ChildProcess[] = [];
let proxy: Server;
let dir: string;
let cleanup: () => Promise<void>;
let url: string;
/** The server behind a pass-through proxy that counts opened event streams (so a test knows a watcher is listening). */
let proxied: string;
let streamsOpened = 0;
/** Key refs by key file name, as `pvl keygen` printed them. */
const refs: Record<string, string> = {};

const sha256Id = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

async function pvl(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [MAIN, ...args], { cwd: dir });
    return { stdout, stderr, code: 0 };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; code: number };
    return { stdout: err.stdout, stderr: err.stderr, code: err.code };
  }
}

/** The `pvl:` lines of stderr but notes (spec/cli.md: a note before signing is not an error). */
const pvlLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('pvl:') && !l.startsWith('pvl: note:'));

async function json(...args: string[]): Promise<Record<string, unknown>> {
  const r = await pvl(...args, '--json');
  expect(pvlLines(r.stderr)).toEqual([]);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

function startProxy(target: string): Promise<string> {
  const upstream = new URL(target);
  proxy = createServer((req, res) => {
    if (req.url?.startsWith('/events')) streamsOpened++;
    const up = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    res.on('close', () => up.destroy());
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  return new Promise((ok) => proxy.listen(0, '127.0.0.1', () => ok(`http://127.0.0.1:${(proxy.address() as { port: number }).port}`)));
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('pvl-cli-delegation-'));
  const server = spawn(process.execPath, [MAIN, 'serve', '--data', join(dir, 'data'), '--port', '0'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(server);
  url = await new Promise<string>((ok, fail) => {
    createInterface({ input: server.stdout! }).on('line', (line) => {
      const m = /listening on (http:\/\/\S+)/.exec(line);
      if (m) ok(m[1]);
    });
    server.once('exit', (code) => fail(new Error(`server exited ${code}`)));
  });
  proxied = await startProxy(url);
  await writeFile(join(dir, 'log.vkey'), (await (await fetch(`${url}/log/vkey`)).text()).trim());
  for (const name of ['alice', 'publisher', 'bob', 'builder', 'society']) refs[name] = (await json('keygen', '--name', name, '--out', `${name}.key`)).keyRef as string;
}, 30_000);

afterAll(async () => {
  for (const p of procs) p.kill('SIGTERM');
  proxy?.closeAllConnections();
  await new Promise<void>((ok) => (proxy ? proxy.close(() => ok()) : ok()));
  await cleanup?.();
});

describe('pvl delegate, consent grant --on-behalf-of, delegate revoke, ruling', () => {
  const W = sha256Id('cli delegation: alice poem');
  const W2 = sha256Id('cli delegation: another poem');
  const server = () => ['--server', url, '--vkey', 'log.vkey'];
  const alice = () => refs.alice;

  it('refuses an agent’s grant without a delegation (one line, exit 1), admits it under one, and the use is consented with grantedBy', async () => {
    const [alice, publisher] = [refs.alice, refs.publisher];
    const early = await pvl('consent', 'grant', ...server(), '--key', 'publisher.key', '--work', W, '--allow', 'ai_training', '--on-behalf-of', alice);
    expect(early.code).toBe(1);
    expect(pvlLines(early.stderr)).toEqual([expect.stringContaining(`${alice} has delegated nothing to ${publisher}`)]);

    const d = await json('delegate', ...server(), '--key', 'alice.key', '--agent', publisher, '--role', 'rights-holder', '--powers', 'grant,revoke', '--work', W);
    const g = await json('consent', 'grant', ...server(), '--key', 'publisher.key', '--work', W, '--allow', 'ai_training', '--on-behalf-of', alice);
    await writeFile(join(dir, 'items.csv'), `work,consent\n${W},${g.index}\n`);
    const u = await json('use', 'declare', ...server(), '--key', 'builder.key', '--model', 'm@1', '--purpose', 'training', '--items', 'items.csv');
    const uses = await settledUses(W, u.index as number);
    expect(uses.find((x) => x.useIndex === u.index)!.verdict).toMatchObject({ verdict: 'consented', consentIndex: g.index, grantedBy: { agent: publisher, role: 'rights-holder', delegationIndex: d.index } });

    const outside = await pvl('consent', 'grant', ...server(), '--key', 'publisher.key', '--work', W2, '--allow', 'ai_training', '--on-behalf-of', alice);
    expect(outside.code).toBe(1);
    expect(pvlLines(outside.stderr)).toEqual([expect.stringContaining(`does not cover ${W2}`)]);

    await json('delegate', 'revoke', ...server(), '--key', 'alice.key', '--delegation', String(d.index), '--reason', 'contract ended');
    const after = await pvl('consent', 'grant', ...server(), '--key', 'publisher.key', '--work', W, '--allow', 'ai_training', '--on-behalf-of', alice);
    expect(after.code).toBe(1);
    expect(pvlLines(after.stderr)).toEqual([expect.stringContaining(`delegation ${d.index} from ${alice} was revoked at index`)]);
  });

  it('checks flags before signing: usage errors exit 2', async () => {
    const bad = await pvl('delegate', ...server(), '--key', 'alice.key', '--agent', 'ed25519:nothex', '--powers', 'grant', '--all');
    expect(bad.code).toBe(2);
    expect(pvlLines(bad.stderr)).toEqual(['pvl: --agent: not a key ref (ed25519:<64 hex>): ed25519:nothex']);
    const neither = await pvl('delegate', ...server(), '--key', 'alice.key', '--agent', refs.publisher, '--powers', 'grant');
    expect(neither.code).toBe(2);
    expect(pvlLines(neither.stderr)).toEqual(['pvl: give exactly one of --work ID… or --all']);
  });

  it('pvl ruling logs a ruling the server lists with the work’s consents', async () => {
    const r = await json('ruling', ...server(), '--key', 'society.key', '--work', W, '--owner', alice(), '--statement', 'registered member');
    await settledIndex(r.index as number);
    const consents = (await (await fetch(`${url}/works/${W}/consents`)).json()) as { rulings?: unknown[] };
    expect(consents.rulings).toEqual([{ index: r.index, author: refs.society, owner: alice(), work: [W], statement: 'registered member' }]);
  });
});

async function settledUses(work: string, useIndex: number): Promise<Array<{ useIndex: number; verdict: Record<string, unknown> }>> {
  for (;;) {
    const { uses } = (await (await fetch(`${url}/works/${work}/uses`)).json()) as { uses: Array<{ useIndex: number; verdict: Record<string, unknown> }> };
    if (uses.some((u) => u.useIndex === useIndex)) return uses;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits until the server's query index covers log entry `index`. */
async function settledIndex(index: number): Promise<void> {
  for (;;) {
    const health = (await (await fetch(`${url}/healthz`)).json()) as { indexed?: number };
    if ((health.indexed ?? 0) > index) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Starts `pvl watch` in the background; `next(match)` resolves with the first stdout line (from now on) matching. */
function watcher(...args: string[]): { next: (match: (line: string) => boolean) => Promise<string> } {
  const proc = spawn(process.execPath, [MAIN, 'watch', ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(proc);
  const seen: string[] = [];
  const waiting: Array<{ match: (line: string) => boolean; ok: (line: string) => void }> = [];
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    seen.push(line);
    for (const w of [...waiting]) if (w.match(line)) waiting.splice(waiting.indexOf(w), 1) && w.ok(line);
  });
  return {
    next: (match) => {
      const found = seen.find(match);
      return found !== undefined ? Promise.resolve(found) : new Promise((ok) => waiting.push({ match, ok }));
    },
  };
}

describe('pvl watch: another key claims the creator’s work', () => {
  it('prints the claim, in text and in JSON, with the grant proven in the log', async () => {
    const W = sha256Id('cli delegation: alice painting');
    const server = ['--server', url, '--vkey', 'log.vkey'];
    await json('consent', 'grant', ...server, '--key', 'alice.key', '--work', W, '--allow', 'ai_training');
    const opened = streamsOpened;
    const text = watcher('--server', proxied, '--vkey', 'log.vkey', '--creator', 'alice.key', '--state', 'text.state');
    const jsonWatch = watcher('--server', proxied, '--vkey', 'log.vkey', '--creator', 'alice.key', '--state', 'json.state', '--json');
    await expect.poll(() => streamsOpened - opened, { timeout: 15_000 }).toBe(2);

    const squat = await json('consent', 'grant', ...server, '--key', 'bob.key', '--work', W, '--allow', 'ai_training');
    const claimLine = await jsonWatch.next((l) => l.includes('"event":"claim"'));
    expect(JSON.parse(claimLine)).toEqual({ event: 'claim', grant: squat.index, work: W, claimant: refs.bob, author: refs.bob, proof: 'verified', treeSize: expect.any(Number) });
    const line = await text.next((l) => l.includes('is also claimed by'));
    expect(line).toContain(`your work ${W}`);
    expect(line).toContain(`is also claimed by ${refs.bob} in grant ${squat.index} — a use of it may be judged disputed`);
  }, 30_000);
});

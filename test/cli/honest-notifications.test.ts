/**
 * What monitors believe, against a real `pvl serve` (dist/src/cli/main.js; `npm test` builds
 * first) behind a tampering proxy that changes what the proofs do not cover:
 * - `pvl watch` reports a use only as its bundle proves it: an inflated useIndex, a valid bundle
 *   of another creator's work, a relabelled model or builder, an SSE id that is not the proven
 *   use — each is a server fault line, never a use, and never moves `lastEventId`; a near copy is
 *   labelled with the creator's work and the distance computed by the watcher;
 * - a rolled-back checkpoint ends watch (exit 1) with both signed checkpoints saved;
 * - `pvl verify` keeps the server's verdict off its `OK … verified` line;
 * - the submitting commands keep receipts and refuse an unwitnessed checkpoint under TRUST, and
 *   `pvl receipts check` catches a revocation an operator showed only on a private fork (two
 *   servers sharing one log key).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCosignerVerifierKey, generatePrivateKey, parsePrivateKey } from '../../src/note/index.js';
import { nodeSigner } from '../../src/platform/node-signer.js';
import { formatKeyRef, formatRecordTime, signRecord } from '../../src/records/index.js';
import { grant, verify } from '../records/fixtures.js';
import { tempDir } from '../support/tmp.js';

const MAIN = resolve('dist/src/cli/main.js');
const run = promisify(execFile);
const procs: ChildProcess[] = [];
const proxies: Server[] = [];
let dir: string;
let cleanup: () => Promise<void>;

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

async function json(...args: string[]): Promise<Record<string, unknown>> {
  const r = await pvl(...args, '--json');
  expect(pvlLines(r.stderr)).toEqual([]);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/** stdout JSON lines of `pvl watch --json`. */
const lines = (stdout: string) => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
/** The `pvl:` lines of stderr but notes (spec/cli.md: a note before signing is not an error). */
const pvlLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('pvl:') && !l.startsWith('pvl: note:'));

function startServer(data: string): Promise<string> {
  const proc = spawn(process.execPath, [MAIN, 'serve', '--data', data, '--port', '0'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(proc);
  return new Promise((ok, fail) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const m = /listening on (http:\/\/\S+)/.exec(line);
      if (m) ok(m[1]);
    });
    proc.once('exit', (code) => fail(new Error(`server exited ${code}`)));
  });
}

/** What the proxy changes: JSON answers by path (without the query), the /checkpoint note, SSE text. */
interface Tamper {
  json?: (path: string, body: any) => unknown;
  checkpoint?: string;
  sse?: (text: string) => string;
}
let tamper: Tamper = {};
/** Whether a client has opened an event stream through the proxy. */
let streamOpened = false;

function startProxy(target: string): Promise<string> {
  const upstream = new URL(target);
  const proxy = createServer((req, res) => {
    const path = req.url ?? '/';
    if (path.startsWith('/events')) streamOpened = true;
    if (tamper.checkpoint !== undefined && path === '/checkpoint') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(tamper.checkpoint);
      return;
    }
    const up = request({ host: upstream.hostname, port: upstream.port, path, method: req.method, headers: req.headers }, (answer) => {
      const type = String(answer.headers['content-type'] ?? '');
      const { sse, json: rewrite } = tamper;
      if (type.startsWith('text/event-stream') && sse) {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.setEncoding('utf8');
        answer.on('data', (text: string) => res.write(sse(text)));
        answer.on('end', () => res.end());
        return;
      }
      if (!rewrite || !type.includes('json')) {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const out = Buffer.from(JSON.stringify(rewrite(path.split('?')[0], body) ?? body));
        res.writeHead(answer.statusCode ?? 502, { 'content-type': 'application/json', 'content-length': String(out.length) });
        res.end(out);
      });
    });
    res.on('close', () => up.destroy());
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  proxies.push(proxy);
  return new Promise((ok) => proxy.listen(0, '127.0.0.1', () => ok(`http://127.0.0.1:${(proxy.address() as { port: number }).port}`)));
}

afterAll(async () => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  for (const p of proxies) p.close();
  await cleanup?.();
});

describe('pvl watch and pvl verify believe only the proofs', () => {
  let url: string;
  let proxyUrl: string;
  let alice: string;
  let bob: string;
  let carol: string;
  const wa = sha256Id('alice: a painting');
  const wc = sha256Id('carol: a song');
  // Alice's photo is known by its perceptual code P; Bob trains on a re-encoding 3 bits away.
  const P = 'phash:0123456789abcdef';
  const nearP = 'phash:0123456789abcde8';
  // Log indexes of the records set up below: a clock record of the log's may precede each
  // submission (spec/policy.md "The clock"), so they are read from the answers.
  let aliceGrant: number;
  let carolGrant: number;
  let painterUse: number;
  let singerUse: number;
  const photo = sha256Id('alice: a photo');
  const nearCopy = sha256Id('a re-encoding of alice’s photo');
  const server = () => ['--server', url, '--vkey', 'log.vkey'];
  const viaProxy = () => ['--server', proxyUrl, '--vkey', 'log.vkey'];
  const aliceUses = () => `/creators/${alice}/uses`;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('pvl-notify-'));
    url = await startServer(join(dir, 'data'));
    await writeFile(join(dir, 'log.vkey'), (await (await fetch(`${url}/log/vkey`)).text()).trim());
    proxyUrl = await startProxy(url);
    alice = String((await json('keygen', '--name', 'alice', '--out', 'alice.key')).keyRef);
    bob = String((await json('keygen', '--name', 'bob', '--out', 'bob.key')).keyRef);
    carol = String((await json('keygen', '--name', 'carol', '--out', 'carol.key')).keyRef);
    // One work of the grant is known by two ids (sha256 and phash), which the CLI's --work cannot say.
    const key = parsePrivateKey((await readFile(join(dir, 'alice.key'), 'utf8')).trim());
    const entry = signRecord(grant({ key, ref: formatKeyRef(key.publicKey), signer: nodeSigner(key) }, [[wa], [photo, P]], { time: formatRecordTime(new Date()) }), nodeSigner(key), { verify });
    const granted = await fetch(`${url}/records?wait=checkpoint`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.from(entry).toString('utf8') });
    expect(granted.status).toBe(201);
    aliceGrant = ((await granted.json()) as { index: number }).index;
    expect(aliceGrant).toBe(1); // after the log's first clock record
    carolGrant = Number((await json('consent', 'grant', ...server(), '--key', 'carol.key', '--work', wc, '--allow', 'ai_training')).index);
    await writeFile(join(dir, 'alice-items.jsonl'), `${JSON.stringify({ work: wa, consent: aliceGrant })}\n${JSON.stringify({ work: [nearCopy, nearP], consent: 'none' })}\n`);
    painterUse = Number((await json('use', 'declare', ...server(), '--key', 'bob.key', '--model', 'painter@1', '--items', 'alice-items.jsonl')).index);
    await writeFile(join(dir, 'carol-items.jsonl'), `${JSON.stringify({ work: wc, consent: carolGrant })}\n`);
    singerUse = Number((await json('use', 'declare', ...server(), '--key', 'bob.key', '--model', 'singer@1', '--items', 'carol-items.jsonl')).index);
    expect(aliceGrant < carolGrant && carolGrant < painterUse && painterUse < singerUse).toBe(true);
  }, 60000);

  it('reports uses from the proofs: index, position, work, model, builder; a near copy with its distance recomputed; the verdict as the server’s', async () => {
    tamper = {};
    const r = await pvl('watch', ...viaProxy(), '--creator', 'alice.key', '--once', '--json');
    expect(r.code).toBe(0);
    const reports = lines(r.stdout);
    expect(reports.map((u) => [u.id, u.index, u.position, u.work, u.model, u.builder, u.proof, u.grant])).toEqual([
      [`${painterUse}.0`, painterUse, 0, wa, 'painter@1', bob, 'verified', aliceGrant],
      [`${painterUse}.1`, painterUse, 1, nearP, 'painter@1', bob, 'verified', aliceGrant],
    ]);
    expect(reports[1].near).toEqual({ of: photo, id: P, distance: 3 });
    expect(reports[0]).not.toHaveProperty('verdict');
    expect((reports[0].serverVerdict as { verdict: string }).verdict).toBe('consented');

    const human = await pvl('watch', ...viaProxy(), '--creator', 'alice.key', '--once');
    expect(human.stdout).toContain(`near copy of your ${photo}: ${P} at distance 3, computed here`);
    for (const line of human.stdout.trim().split('\n')) expect(line).toMatch(/proof verified at tree size \d+; server says: /);
  }, 30000);

  it('an inflated useIndex is a fault, not saved as lastEventId, and later real uses still arrive', async () => {
    tamper = { json: (path, body) => (path === aliceUses() ? { ...body, uses: body.uses.map((u: { position: number }) => (u.position === 1 ? { ...u, useIndex: 9007199254740000 } : u)) } : undefined) };
    const r = await pvl('watch', ...viaProxy(), '--creator', 'alice.key', '--state', 'inflated.json', '--once', '--json');
    tamper = {};
    expect(r.code).toBe(1);
    expect(pvlLines(r.stderr)).toEqual([expect.stringMatching(/^pvl: 1 server fault/)]);
    const out = lines(r.stdout);
    expect(out.filter((l) => l.fault).map((l) => l.fault)).toEqual([expect.stringMatching(new RegExp(`^use 9007199254740000\\.1: .*proves log index ${painterUse} item 1`))]);
    expect(out.filter((l) => l.id).map((l) => l.id)).toEqual([`${painterUse}.0`]);
    const state = JSON.parse(await readFile(join(dir, 'inflated.json'), 'utf8'));
    expect(state.lastEventId).toBe(`${painterUse}.0`);
    expect(JSON.stringify(state)).not.toContain('9007199254740000');

    // Restarted from the same state against the honest server: the next real use still arrives.
    const next = await pvl('watch', ...server(), '--creator', 'alice.key', '--state', 'inflated.json', '--once', '--json');
    expect(next.code).toBe(0);
    expect(lines(next.stdout).map((l) => l.id)).toEqual([`${painterUse}.1`]);
  }, 30000);

  it('a valid bundle of another creator’s work is a fault, not this creator’s use', async () => {
    const carols = (await (await fetch(`${url}/works/${wc}/uses`)).json()) as { uses: unknown[] };
    expect(carols.uses).toHaveLength(1);
    tamper = { json: (path, body) => (path === aliceUses() ? { ...body, uses: [...body.uses, ...carols.uses] } : undefined) };
    const r = await pvl('watch', ...viaProxy(), '--creator', 'alice.key', '--once', '--json');
    tamper = {};
    expect(r.code).toBe(1);
    const out = lines(r.stdout);
    expect(out.filter((l) => l.id).map((l) => l.work)).toEqual([wa, nearP]);
    expect(out.filter((l) => l.fault).map((l) => l.fault)).toEqual([expect.stringContaining(`use ${singerUse}.0: the proven item (${wc}) is none of the works of ${alice}`)]);
    // The same bundle for watched work ids that are not carol's.
    tamper = { json: (path, body) => (path === `/works/${wa}/uses` ? { ...body, uses: [...body.uses, ...carols.uses] } : undefined) };
    const byWork = await pvl('watch', ...viaProxy(), '--work', wa, '--once', '--json');
    tamper = {};
    expect(byWork.code).toBe(1);
    expect(lines(byWork.stdout).filter((l) => l.id).map((l) => l.id)).toEqual([`${painterUse}.0`]);
  }, 30000);

  it('a relabelled model or builder is a fault; nothing unproven is printed as the use', async () => {
    tamper = { json: (path, body) => (path === aliceUses() ? { ...body, uses: body.uses.map((u: object) => ({ ...u, model: { builder: carol, name: 'innocent', version: '1' } })) } : undefined) };
    const r = await pvl('watch', ...viaProxy(), '--creator', 'alice.key', '--once', '--json');
    tamper = {};
    expect(r.code).toBe(1);
    const out = lines(r.stdout);
    expect(out.filter((l) => l.id)).toEqual([]);
    expect(out.map((l) => l.fault)).toEqual([
      expect.stringContaining(`the server says innocent@1 by ${carol}, but the proven record is painter@1 by ${bob}`),
      expect.stringContaining(`use ${painterUse}.1: the server says innocent@1`),
    ]);
  }, 30000);

  it('an SSE id that is not the proven use is a fault and does not move lastEventId', async () => {
    await writeFile(join(dir, 'sse.json'), JSON.stringify({ type: 'pvl.watch-state/v1', checkpoint: null, lastEventId: `${painterUse}.1` }));
    tamper = { sse: (text) => text.replace(/^id: \d+\.\d+$/m, 'id: 9007199254740000.0') };
    const proc = spawn(process.execPath, [MAIN, 'watch', ...viaProxy(), '--creator', 'alice.key', '--state', 'sse.json', '--json', '--interval', '60'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(proc);
    const out: string[] = [];
    createInterface({ input: proc.stdout! }).on('line', (l) => out.push(l));
    try {
      streamOpened = false;
      await expect.poll(() => streamOpened, { timeout: 10000 }).toBe(true);
      await writeFile(join(dir, 'later.jsonl'), `${JSON.stringify({ work: wa, consent: aliceGrant })}\n`);
      const later = await json('use', 'declare', ...server(), '--key', 'bob.key', '--model', 'painter@2', '--items', 'later.jsonl');
      await expect.poll(() => out.length, { timeout: 15000 }).toBeGreaterThan(0);
      expect(out.map((l) => JSON.parse(l))).toEqual([{ fault: expect.stringContaining(`the event id "9007199254740000.0" is not the proven use ${later.index}.0`) }]);
      expect(JSON.parse(await readFile(join(dir, 'sse.json'), 'utf8')).lastEventId).toBe(`${painterUse}.1`);
    } finally {
      tamper = {};
      proc.kill('SIGTERM');
    }
  }, 40000);

  it('pvl verify prints the server’s verdict as its claim, never on the OK line', async () => {
    const uses = (await (await fetch(`${url}${aliceUses()}`)).json()) as { uses: Array<{ bundle: unknown }> };
    await writeFile(join(dir, 'bundle.json'), JSON.stringify(uses.uses[0].bundle));
    const r = await pvl('verify', 'bundle.json', '--vkey', 'log.vkey');
    expect(r.code).toBe(0);
    const [ok, says, ...rest] = r.stdout.trim().split('\n');
    expect(rest).toEqual([]);
    expect(ok).toMatch(/^OK proof-bundle verified: /);
    expect(ok).not.toMatch(/consented|verdict/i);
    expect(ok).toContain('position=0');
    expect(says).toMatch(/^server says: consented .*not proven/);
    expect(await json('verify', 'bundle.json', '--vkey', 'log.vkey')).toMatchObject({ ok: true, index: painterUse, position: 0, work: wa, serverVerdict: { verdict: 'consented' } });
  }, 30000);

  it('a rolled-back checkpoint ends watch with exit 1 and both signed checkpoints saved', async () => {
    const old = await (await fetch(`${url}/checkpoint`)).text();
    await json('creator', 'register', ...server(), '--key', 'carol.key', '--name', 'Carol');
    const r1 = await pvl('watch', ...server(), '--creator', 'alice.key', '--state', 'roll.json', '--once', '--json');
    expect(r1.code).toBe(0);
    const saved = JSON.parse(await readFile(join(dir, 'roll.json'), 'utf8')).checkpoint as string;
    expect(Number(saved.split('\n')[1])).toBeGreaterThan(Number(old.split('\n')[1]));

    tamper = { checkpoint: old };
    const r = await pvl('watch', ...viaProxy(), '--creator', 'alice.key', '--state', 'roll.json', '--once', '--evidence-dir', 'rollback-evidence');
    tamper = {};
    expect(r.code).toBe(1);
    expect(pvlLines(r.stderr)).toEqual([expect.stringMatching(/^pvl: rollback: .* has size \d+, the trusted checkpoint \(saved roll\.json\) size \d+/)]);
    expect(r.stdout).toBe('');
    const files = await readdir(join(dir, 'rollback-evidence'));
    expect(files).toEqual([expect.stringMatching(/^rollback-/)]);
    const evidence = JSON.parse(await readFile(join(dir, 'rollback-evidence', files[0]), 'utf8'));
    expect([evidence.kind, evidence.first.note, evidence.second.note]).toEqual(['rollback', old, saved]);
    expect(JSON.parse(await readFile(join(dir, 'roll.json'), 'utf8')).checkpoint).toBe(saved);
    const checked = await pvl('verify', '--evidence', join('rollback-evidence', files[0]), '--vkey', 'log.vkey');
    expect(checked.stdout).toMatch(/went back/);
  }, 30000);
});

describe('receipts', () => {
  let publicUrl: string;
  let forkUrl: string;
  const wd = sha256Id('dave: a poem');

  beforeAll(async () => {
    if (!dir) ({ dir, cleanup } = await tempDir('pvl-receipts-'));
    publicUrl = await startServer(join(dir, 'public'));
    // The operator's private fork: the same log key on another data directory.
    await mkdir(join(dir, 'fork'), { recursive: true });
    await copyFile(join(dir, 'public', 'log.key'), join(dir, 'fork', 'log.key'));
    forkUrl = await startServer(join(dir, 'fork'));
    await writeFile(join(dir, 'public.vkey'), (await (await fetch(`${publicUrl}/log/vkey`)).text()).trim());
    expect((await (await fetch(`${forkUrl}/log/vkey`)).text()).trim()).toBe((await readFile(join(dir, 'public.vkey'), 'utf8')).trim());
    await json('keygen', '--name', 'dave', '--out', 'dave.key');
    await json('keygen', '--name', 'eve', '--out', 'eve.key');
  }, 30000);

  it('submitting commands keep receipts; receipts check catches a revocation shown only on a fork', async () => {
    const on = (u: string) => ['--server', u, '--vkey', 'public.vkey', '--receipts', 'dave-receipts'];
    const registered = await json('creator', 'register', ...on(publicUrl), '--key', 'dave.key', '--name', 'Dave');
    const granted = await json('consent', 'grant', ...on(publicUrl), '--key', 'dave.key', '--work', wd, '--allow', 'ai_training');
    expect(registered.index).toBe(1); // after the log's first clock record (spec/policy.md "The clock")
    expect(registered.receiptFile).toMatch(/^dave-receipts\/1-[0-9a-f]{16}\.json$/);
    const receipt = JSON.parse(await readFile(join(dir, String(granted.receiptFile)), 'utf8'));
    expect(receipt).toMatchObject({ type: 'pvl.record-proof/v1', index: granted.index, leafHash: granted.leafHash, server: publicUrl });
    const publicSize = Number(granted.index) + 1;
    expect(await json('verify', String(granted.receiptFile), '--vkey', 'public.vkey')).toMatchObject({ ok: true, kind: 'record-proof', recordType: 'consent-grant' });

    // The fork shows the same records (with its own clock records), then takes the revocation
    // the public log never sees: in a later second, so that a clock record precedes it and the
    // fork's tree is larger than the public one.
    let forkGrant = -1;
    for (const f of [registered.receiptFile, granted.receiptFile]) {
      const { entry } = JSON.parse(await readFile(join(dir, String(f)), 'utf8'));
      const res = await fetch(`${forkUrl}/records?wait=checkpoint`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.from(entry, 'base64').toString('utf8') });
      expect(res.status).toBe(201);
      forkGrant = ((await res.json()) as { index: number }).index;
    }
    const second = Math.floor(Date.now() / 1000);
    while (Math.floor(Date.now() / 1000) === second) await new Promise((r) => setTimeout(r, 50));
    const revoked = await json('consent', 'revoke', ...on(forkUrl), '--key', 'dave.key', '--grant', String(forkGrant));
    const revokedIndex = Number(revoked.index);
    expect(revokedIndex).toBe(forkGrant + 2);
    expect(revokedIndex + 1).toBeGreaterThan(publicSize);

    const check = ['receipts', 'check', '--server', publicUrl, '--vkey', 'public.vkey', '--dir', 'dave-receipts', '--evidence-dir', 'fork-evidence'];
    const human = await pvl(...check);
    expect(human.code).toBe(1);
    expect(pvlLines(human.stderr)).toEqual([
      expect.stringMatching(new RegExp(`^pvl: receipts: 1 of 3 not proven in the log at size ${publicSize}; index ${revokedIndex} \\(consent-revocation, .*\\): its checkpoint \\(size ${revokedIndex + 1}\\) is beyond the log's \\(size ${publicSize}\\)`)),
    ]);
    expect(human.stdout).toMatch(/Index\s+Record\s+Receipt size\s+Status/);
    const asJson = await pvl(...check, '--json');
    expect(asJson.code).toBe(1);
    const report = JSON.parse(asJson.stdout);
    expect(report.receipts.map((r: { index: number; recordType: string; status: string }) => [r.index, r.recordType, r.status])).toEqual([
      [registered.index, 'creator', 'ok'],
      [granted.index, 'consent-grant', 'ok'],
      [revokedIndex, 'consent-revocation', 'ahead'],
    ]);

    // Once the public log reaches the fork's size with other entries, the fork is proven.
    for (let n = 1, size = publicSize; size <= revokedIndex; n++) {
      const eve = await json('creator', 'register', '--server', publicUrl, '--vkey', 'public.vkey', '--key', 'eve.key', '--name', `Eve ${n}`, '--receipts', 'eve-receipts');
      size = Number(eve.index) + 1;
    }
    const forked = await pvl(...check, '--json');
    expect(forked.code).toBe(1);
    const row = JSON.parse(forked.stdout).receipts[2];
    expect([row.status, row.evidence]).toEqual(['inconsistent', expect.stringMatching(/^fork-evidence\/split-view-/)]);
    const holds = await pvl('verify', '--evidence', row.evidence, '--vkey', 'public.vkey');
    expect(holds.code).toBe(0);
    expect(holds.stdout).toMatch(/evidence holds/);

    // Against the fork itself its own receipt checks out, and the public log's receipts prove the
    // split too: the two logs' clock records differ from entry 0 on (spec/policy.md "The clock").
    const againstFork = await pvl('receipts', 'check', '--server', forkUrl, '--vkey', 'public.vkey', '--dir', 'dave-receipts', '--evidence-dir', 'fork-evidence', '--json');
    expect(againstFork.code).toBe(1);
    expect(JSON.parse(againstFork.stdout).receipts.map((r: { index: number; status: string }) => [r.index, r.status])).toEqual([
      [registered.index, 'inconsistent'],
      [granted.index, 'inconsistent'],
      [revokedIndex, 'ok'],
    ]);
  }, 60000);

  it('under TRUST a submission whose checkpoint lacks the witness quorum is refused and no receipt kept', async () => {
    const stranger = generatePrivateKey('witness.example');
    const r = await pvl('creator', 'register', '--server', publicUrl, '--vkey', 'public.vkey', '--key', 'dave.key', '--name', 'Dave', '--receipts', 'refused-receipts', '--witness', formatCosignerVerifierKey(stranger.name, stranger.publicKey));
    expect(r.code).toBe(1);
    expect(pvlLines(r.stderr)).toEqual([expect.stringMatching(/does not meet the witness policy.*quorum.*no proof or receipt saved/)]);
    await expect(readdir(join(dir, 'refused-receipts'))).rejects.toThrow(/ENOENT/);
    const usage = await pvl('creator', 'register', '--server', publicUrl, '--key', 'dave.key', '--name', 'Dave', '--witness', formatCosignerVerifierKey(stranger.name, stranger.publicKey));
    expect(usage.code).toBe(2);
  }, 30000);
});

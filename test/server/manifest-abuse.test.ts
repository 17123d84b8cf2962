/**
 * Storage abuse through POST /manifests against a real server (spec/api.md "Unclaimed
 * manifests"): an upload that trickles in does not hold up the honest upload of the same root;
 * quotas of unclaimed bytes per client address answer 429 problems with Retry-After; and a
 * `pvl serve` killed mid-upload leaves nothing behind once it is opened again.
 *
 * The app runs behind node:http over loopback; clients connect from distinct loopback addresses
 * (127.0.0.2, 127.0.0.3, …) to be distinct clients.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { getRequestListener } from '@hono/node-server';
import { afterEach, describe, expect, it } from 'vitest';
import { type LedgerOptions, openLedger } from '../../src/ledger/index.js';
import { manifestCharge } from '../../src/ledger/manifests.js';
import { generatePrivateKey, parsePrivateKey, verifierKeyOf } from '../../src/note/index.js';
import { nodeSigner } from '../../src/platform/node-signer.js';
import { type UseItem, toHex, writeManifest } from '../../src/records/index.js';
import { createApp } from '../../src/server/app.js';
import { LevelLogStore } from '../../src/store/index.js';
import { item, sha256Id } from '../records/fixtures.js';
import { tempDir } from '../support/tmp.js';

const ORIGIN = 'test.example/manifest-abuse';
const logKey = generatePrivateKey(ORIGIN);
const MAIN = resolve('dist/src/cli/main.js');

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function manifestOf(label: string, count = 300): Promise<{ bytes: Uint8Array; root: string; count: number }> {
  const items: UseItem[] = Array.from({ length: count }, (_, i) => item(sha256Id(`${label} ${i}`), { none: true }));
  const parts: Uint8Array[] = [];
  const summary = await writeManifest(items, count, (c) => void parts.push(c.slice()));
  return { bytes: Buffer.concat(parts), root: toHex(summary.root), count };
}
type Manifest = Awaited<ReturnType<typeof manifestOf>>;

async function serve(manifests: LedgerOptions['manifests'] = {}): Promise<{ url: string; port: number }> {
  const { dir, cleanup } = await tempDir('pvl-abuse-');
  const store = await LevelLogStore.open(dir);
  const ledger = await openLedger({ store, origin: ORIGIN, signer: nodeSigner(logKey), integrateIntervalMs: 5, manifests });
  const app = createApp({ ledger, log: ledger.log, vkey: verifierKeyOf(logKey), keepaliveMs: 60_000 });
  const server: Server = createServer(getRequestListener(app.fetch));
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  cleanups.push(cleanup, async () => {
    server.closeAllConnections();
    await new Promise<void>((ok) => server.close(() => ok()));
    await ledger.close();
  });
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, port };
}

/** A client whose connections come from `localAddress` (node:http: undici's fetch cannot choose it). */
function clientAt(localAddress: string) {
  return (url: string, m: Manifest, query = `root=${m.root}&count=${m.count}`) =>
    new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Record<string, unknown> }>((ok, fail) => {
      const req = httpRequest(`${url}/manifests?${query}`, { method: 'POST', localAddress, headers: { 'content-type': 'application/octet-stream', 'content-length': m.bytes.length } }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => ok({ status: res.statusCode!, headers: res.headers, body: JSON.parse(Buffer.concat(parts).toString()) as Record<string, unknown> }));
      });
      // The server may answer (a refusal) before it reads the body.
      req.on('error', fail);
      req.end(m.bytes);
    });
}

describe('POST /manifests against abuse', () => {
  it('answers an honest upload of a root at once while another upload of that root trickles in', async () => {
    const { url, port } = await serve();
    const m = await manifestOf('trickled root', 40_000);
    // The trickler: headers and half the body, then nothing (well within the body idle timeout).
    const socket = connect(port, '127.0.0.1');
    cleanups.push(async () => void socket.destroy());
    socket.on('error', () => undefined);
    await new Promise<void>((ok) => socket.once('connect', ok));
    socket.write(`POST /manifests?root=${m.root}&count=${m.count} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: ${m.bytes.length}\r\n\r\n`);
    socket.write(m.bytes.subarray(0, m.bytes.length >> 1));
    await new Promise((r) => setTimeout(r, 300));

    const started = Date.now();
    const honest = await clientAt('127.0.0.2')(url, m);
    expect(honest.status).toBe(201);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(honest.body).toMatchObject({ root: m.root, count: m.count, expires: expect.any(String) });
    const got = await fetch(`${url}/manifests/${m.root}/items/39999`);
    expect(got.status).toBe(200);

    // The trickler finishes: already stored.
    const answer = new Promise<string>((ok) => {
      let text = '';
      socket.on('data', (d) => {
        text += d.toString();
        if (text.includes('\r\n\r\n')) ok(text);
      });
      socket.on('close', () => ok(text));
    });
    socket.write(m.bytes.subarray(m.bytes.length >> 1));
    expect(await answer).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('holds each client address to its quota of unclaimed bytes (429 with Retry-After) and the server to its own (507)', async () => {
    const charge = manifestCharge(300);
    const { url } = await serve({ claimWithinMs: 3600_000, clientQuotaBytes: 2 * charge, serverQuotaBytes: 3 * charge });
    const [m1, m2, m3, m4] = await Promise.all(['a1', 'a2', 'a3', 'a4'].map((l) => manifestOf(l)));
    const a = clientAt('127.0.0.2');
    const b = clientAt('127.0.0.3');
    const c = clientAt('127.0.0.4');
    expect((await a(url, m1)).status).toBe(201);
    expect((await a(url, m2)).status).toBe(201);
    const refused = await a(url, m3);
    expect(refused.status).toBe(429);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.body).toMatchObject({ status: 429, code: 'unclaimed-quota' });
    expect(refused.body.detail).toMatch(/client 127\.0\.0\.2 holds 131072 bytes.*per-client quota of 131072 bytes/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(3500);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(3600);
    // Another address has a quota of its own, up to the server's.
    expect((await b(url, m3)).status).toBe(201);
    const full = await c(url, m4);
    expect(full.status).toBe(507);
    expect(full.body).toMatchObject({ status: 507, code: 'unclaimed-capacity' });
    expect(full.headers['retry-after']).toBeDefined();
    // A root already stored is answered 200 whatever the quota.
    expect((await a(url, m1)).status).toBe(200);
    // One larger than a whole quota: 413 naming the count.
    const huge = await c(url, m4, `root=${m4.root}&count=5000`);
    expect(huge.status).toBe(413);
    expect(huge.body).toMatchObject({ code: 'manifest-too-large', field: 'count' });
    const info = (await (await fetch(`${url}/manifests/${m1.root}`)).json()) as { expires: string };
    expect(Date.parse(info.expires) - Date.now()).toBeGreaterThan(3500_000);
  });
});

describe('pvl serve killed mid-upload', () => {
  const running: ChildProcess[] = [];
  afterEach(() => {
    for (const p of running.splice(0)) if (p.exitCode === null) p.kill('SIGKILL');
  });

  it('leaves no staged bytes once the store is opened again', async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
    const { dir, cleanup } = await tempDir('pvl-abuse-crash-');
    cleanups.push(cleanup);
    const proc = spawn(process.execPath, [MAIN, 'serve', '--data', dir, '--port', '0', '--origin', ORIGIN], { stdio: ['ignore', 'pipe', 'pipe'] });
    running.push(proc);
    const url = await new Promise<string>((ok, fail) => {
      createInterface({ input: proc.stdout! }).on('line', (line) => {
        const found = /^listening on (http:\/\/\S+)$/.exec(line);
        if (found) ok(found[1]);
      });
      proc.once('exit', (code) => fail(new Error(`pvl serve exited ${code}`)));
    });
    const m = await manifestOf('killed', 100_000);
    const { port } = new URL(url);
    const socket = connect(Number(port), '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise<void>((ok) => socket.once('connect', ok));
    socket.write(`POST /manifests?root=${m.root}&count=${m.count} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: ${m.bytes.length}\r\n\r\n`);
    socket.write(m.bytes.subarray(0, (m.bytes.length * 3) >> 2));
    // Long enough for some item batches to be written.
    await new Promise((r) => setTimeout(r, 1500));
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
    socket.destroy();

    const keysByTag = async (store: LevelLogStore) => {
      const tags: Record<string, number> = {};
      for await (const [key] of store.space('ledger').range({ gte: Uint8Array.of(0), lt: Uint8Array.of(0xff) })) {
        const tag = String.fromCharCode(key[0]);
        tags[tag] = (tags[tag] ?? 0) + 1;
      }
      return tags;
    };
    const store = await LevelLogStore.open(join(dir, 'store'));
    const left = await keysByTag(store);
    // The crash left the upload's staging: its registration and some of its items.
    expect(left.S).toBe(1);
    expect(left.I).toBeGreaterThan(0);
    expect(left.M).toBeUndefined();
    const key = parsePrivateKey((await readFile(join(dir, 'log.key'), 'utf8')).trim());
    const ledger = await openLedger({ store, origin: ORIGIN, signer: nodeSigner(key), integrateIntervalMs: 5 });
    try {
      await ledger.sweepManifests();
      const after = await keysByTag(store);
      expect(after.S).toBeUndefined();
      expect(after.D).toBeUndefined();
      expect(after.I).toBeUndefined();
      expect(after.T).toBeUndefined();
    } finally {
      await ledger.close();
    }
  }, 30_000);
});

/**
 * Slow and many clients, deep JSON and oversized bodies (issue 19, items 2 and 4) against a real
 * server: the app behind the listener `pvl serve` uses (createHttpServer, fast reads), on
 * loopback, driven by raw sockets. Other clients are other loopback addresses (127.0.0.x). The
 * limits are set small so that each attack is refused in well under a second; the last test
 * checks that `pvl serve` itself applies them from its flags.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { getRequestListener } from '@hono/node-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openLedger } from '../../src/ledger/index.js';
import { generatePrivateKey, verifierKeyOf } from '../../src/note/index.js';
import { nodeSigner } from '../../src/platform/node-signer.js';
import { RECORD_PAYLOAD_TYPE, preAuthEncoding, signRecord, toBase64 } from '../../src/records/index.js';
import { type AppOptions, createApp } from '../../src/server/app.js';
import { withFastReads } from '../../src/server/fast-reads.js';
import { type TransportLimits, clientKey, createHttpServer } from '../../src/server/transport.js';
import { LevelLogStore } from '../../src/store/index.js';
import { alice, bob, creator, verify } from '../records/fixtures.js';
import { RawConnection, head, sleep } from '../support/raw-http.js';
import { tempDir } from '../support/tmp.js';

const ORIGIN = 'test.example/abuse-transport';
const logKey = generatePrivateKey(ORIGIN);
const MAIN = resolve('dist/src/cli/main.js');

let dir: string;
let cleanup: () => Promise<void>;
let store: LevelLogStore;
let ledger: Awaited<ReturnType<typeof openLedger>>;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('pvl-abuse-'));
  store = await LevelLogStore.open(join(dir, 'store'));
  ledger = await openLedger({ store, origin: ORIGIN, signer: nodeSigner(logKey), integrateIntervalMs: 5 });
}, 20_000);

afterAll(async () => {
  await ledger?.close();
  await cleanup?.();
});

const servers: Server[] = [];
const sockets: RawConnection[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((ok) => server.close(() => ok()));
  }
});

/** A server on a free loopback port, as `pvl serve` builds it, with these limits. */
async function serve(app: Partial<AppOptions> = {}, transport: Partial<TransportLimits> = {}): Promise<number> {
  const shutdown = new AbortController();
  const honoApp = createApp({ ledger, log: ledger.log, vkey: verifierKeyOf(logKey), keepaliveMs: 60_000, shutdown: shutdown.signal, ...app });
  const server = createHttpServer(withFastReads(getRequestListener(honoApp.fetch), { log: ledger.log, published: () => ledger.log.checkpoint }), transport);
  server.on('close', () => shutdown.abort());
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  servers.push(server);
  return (server.address() as AddressInfo).port;
}

async function open(port: number, from = '127.0.0.1'): Promise<RawConnection> {
  const s = await RawConnection.open(port, from);
  sockets.push(s);
  return s;
}

function problem(answer: { status: number; headers: Record<string, string>; body: string }, status: number, code: string) {
  expect({ status: answer.status, type: answer.headers['content-type'] }).toEqual({ status, type: 'application/problem+json' });
  const body = JSON.parse(answer.body) as { code: string; detail: string; status: number; field?: string };
  expect(body.code).toBe(code);
  expect(body.status).toBe(status);
  return body;
}

const enc = new TextEncoder();
const goodRecord = () => Buffer.from(signRecord(creator(bob), bob.signer, { verify })).toString();

describe('slow clients', () => {
  it('answers a request head that never ends with 408 header-timeout and closes the connection', async () => {
    const port = await serve({}, { headersTimeoutMs: 300 });
    const s = await open(port);
    await s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    // A header line every 100 ms: the socket is never idle, the head is never done.
    const trickle = (async () => {
      for (let i = 0; i < 40 && !s.closed; i++) {
        await sleep(100);
        await s.write(`X-Trickle-${i}: x\r\n`);
      }
    })();
    const answer = await s.answer(5_000);
    const p = problem(answer, 408, 'header-timeout');
    expect(p.detail).toContain('300 ms');
    await s.closedByServer(3_000);
    await trickle;
  });

  it('answers an oversized or malformed request head with a problem document and closes', async () => {
    const port = await serve();
    const big = await open(port);
    await big.write(head('GET', '/healthz', { 'X-Big': 'x'.repeat(20 * 1024) }));
    problem(await big.answer(), 431, 'headers-too-large');
    await big.closedByServer();
    const bad = await open(port);
    await bad.write('GET /healthz HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n');
    expect(problem(await bad.answer(), 400, 'bad-http').detail).toContain('not valid HTTP/1.1');
    await bad.closedByServer();
  });

  it('refuses a body that keeps trickling below the minimum rate with 408 body-too-slow, though no pause reaches the idle timeout', async () => {
    const port = await serve({ bodyIdleTimeoutMs: 2_000, bodyMinRate: 1000, bodyRateGraceMs: 300 });
    const before = ledger.log.sequencedSize;
    const s = await open(port);
    await s.write(head('POST', '/records', { 'Content-Type': 'application/json', 'Content-Length': '5000' }));
    const trickle = (async () => {
      // One byte every 100 ms — ten bytes a second against the 1,000 required.
      for (let i = 0; i < 100 && !s.closed; i++) {
        await s.write(' ');
        await sleep(100);
      }
    })();
    const p = problem(await s.answer(8_000), 408, 'body-too-slow');
    expect(p.field).toBe('body');
    expect(p.detail).toMatch(/at least 1000 bytes\/s/);
    await s.closedByServer(3_000);
    await trickle;
    expect(ledger.log.sequencedSize).toBe(before);
  });

  it('accepts a body that pauses but keeps its average above the rate', async () => {
    const port = await serve({ bodyIdleTimeoutMs: 2_000, bodyMinRate: 100, bodyRateGraceMs: 1_000 });
    const s = await open(port);
    const body = enc.encode(goodRecord());
    await s.write(head('POST', '/records', { 'Content-Type': 'application/json', 'Content-Length': String(body.length) }));
    // Half now, a pause shorter than the grace and the idle limit, then the rest.
    await s.write(body.subarray(0, 100));
    await sleep(300);
    await s.write(body.subarray(100));
    const answer = await s.answer();
    expect(answer.status, answer.body).toBe(201);
  });
});

describe('many clients', () => {
  it('caps open connections per client address (429) and in total (503), with Retry-After, and frees a slot when one closes', async () => {
    const port = await serve({}, { maxConnections: 4, maxConnectionsPerAddress: 2, keepAliveTimeoutMs: 30_000 });
    /** A connection that has been answered once and is held open (keep-alive). */
    const held = async (from: string) => {
      const s = await open(port, from);
      await s.write(head('GET', '/healthz'));
      expect((await s.answer()).status).toBe(200);
      return s;
    };
    const a1 = await held('127.0.0.1');
    await held('127.0.0.1');

    const third = await open(port, '127.0.0.1');
    await third.write(head('GET', '/healthz'));
    const perAddress = await third.answer();
    expect(problem(perAddress, 429, 'too-many-connections').detail).toContain('127.0.0.1');
    expect(perAddress.headers['retry-after']).toBe('1');
    await third.closedByServer();

    await held('127.0.0.2');
    await held('127.0.0.3');
    const fifth = await open(port, '127.0.0.4');
    await fifth.write(head('GET', '/healthz'));
    const total = await fifth.answer();
    problem(total, 503, 'too-many-connections');
    expect(total.headers['retry-after']).toBe('1');
    await fifth.closedByServer();

    a1.close();
    await a1.closedByServer();
    await sleep(50);
    const again = await held('127.0.0.1');
    expect(again.closed).toBe(false);
  });

  it('closes a connection after its request limit and an idle keep-alive connection after the keep-alive timeout', async () => {
    const port = await serve({}, { maxRequestsPerSocket: 3, keepAliveTimeoutMs: 200 });
    const s = await open(port);
    for (let i = 1; i <= 3; i++) {
      await s.write(head('GET', '/healthz'));
      const answer = await s.answer();
      expect(answer.status).toBe(200);
      expect(answer.headers.connection).toBe(i < 3 ? 'keep-alive' : 'close');
    }
    await s.closedByServer(2_000);

    const idle = await open(port);
    await idle.write(head('GET', '/healthz'));
    expect((await idle.answer()).status).toBe(200);
    // Node's default keep-alive timeout is 5 s: closing well before that is the limit at work.
    await idle.closedByServer(2_500);
  });

  it('caps open /events streams per client address (429) and in total (503), not fooled by X-Forwarded-For', async () => {
    const port = await serve({ maxEventStreams: 3, maxEventStreamsPerAddress: 2 });
    const stream = async (from: string, forwardedFor?: string) => {
      const s = await open(port, from);
      await s.write(head('GET', `/events?creator=${alice.ref}`, forwardedFor ? { 'X-Forwarded-For': forwardedFor } : {}));
      return { s, answer: await s.answer(5_000, (b) => b.includes(': ok')) };
    };
    const first = await stream('127.0.0.1', '10.0.0.1');
    expect(first.answer.status).toBe(200);
    expect(first.answer.headers['content-type']).toMatch(/^text\/event-stream/);
    expect((await stream('127.0.0.1', '10.0.0.2')).answer.status).toBe(200);

    const refused = await stream('127.0.0.1', '10.0.0.3');
    expect(problem(refused.answer, 429, 'too-many-streams').detail).toContain('127.0.0.1');
    expect(refused.answer.headers['retry-after']).toBe('5');

    expect((await stream('127.0.0.2')).answer.status).toBe(200);
    const full = await stream('127.0.0.3');
    problem(full.answer, 503, 'too-many-streams');
    expect(full.answer.headers['retry-after']).toBe('5');

    // A stream that ends gives its place back.
    first.s.close();
    await first.s.closedByServer();
    let next = await stream('127.0.0.1');
    for (let i = 0; i < 20 && next.answer.status !== 200; i++) {
      await sleep(50);
      next = await stream('127.0.0.1');
    }
    expect(next.answer.status).toBe(200);
  });

  it('counts streams by X-Forwarded-For when told to trust it', async () => {
    const port = await serve({ maxEventStreams: 10, maxEventStreamsPerAddress: 1, trustForwardedFor: true });
    const stream = async (forwardedFor: string) => {
      const s = await open(port);
      await s.write(head('GET', `/events?creator=${alice.ref}`, { 'X-Forwarded-For': forwardedFor }));
      return s.answer(5_000, (b) => b.includes(': ok'));
    };
    expect((await stream('198.51.100.7, 10.0.0.1')).status).toBe(200);
    expect((await stream('198.51.100.7, 10.0.0.2')).status).toBe(200);
    problem(await stream('203.0.113.9, 10.0.0.2'), 429, 'too-many-streams');
  });

  it('keys client addresses by IPv4, unwrapped IPv4-mapped IPv6, and the /64 of IPv6', () => {
    expect(clientKey('127.0.0.1')).toBe('127.0.0.1');
    expect(clientKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(clientKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:2::9')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });
});

describe('bodies', () => {
  it('refuses a 200,000-deep JSON array with 400 bad-json before anything recurses', async () => {
    const port = await serve();
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    const s = await open(port);
    await s.write(head('POST', '/records', { 'Content-Type': 'application/json', 'Content-Length': String(deep.length) }) + deep);
    const p = problem(await s.answer(), 400, 'bad-json');
    expect(p.detail).toContain('nesting deeper than 64');
    expect(p.field).toBe('body');
  });

  it('refuses deep JSON inside a signed payload with 400 bad-json, and keeps depth 64 for other checks', async () => {
    const port = await serve();
    const before = ledger.log.sequencedSize;
    const envelopeOf = (payloadText: string) => {
      const payload = enc.encode(payloadText);
      return JSON.stringify({ payload: toBase64(payload), payloadType: RECORD_PAYLOAD_TYPE, signatures: [{ keyid: bob.ref, sig: toBase64(bob.signer.sign(preAuthEncoding(RECORD_PAYLOAD_TYPE, payload))) }] });
    };
    const post = async (body: string) => {
      const s = await open(port);
      await s.write(head('POST', '/records', { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) }) + body);
      return s.answer();
    };
    const inPayload = problem(await post(envelopeOf('['.repeat(20_000) + ']'.repeat(20_000))), 400, 'bad-json');
    expect(inPayload.field).toBe('[0].payload');
    // The body itself: 64 levels are parsed (and then refused for what they are), 65 are not.
    expect(JSON.parse((await post('['.repeat(64) + ']'.repeat(64))).body).code).not.toBe('bad-json');
    expect(problem(await post('['.repeat(65) + ']'.repeat(65)), 400, 'bad-json').detail).toContain('nesting deeper than 64');
    // Brackets inside strings are not nesting.
    expect(JSON.parse((await post(JSON.stringify(['['.repeat(100) + '\\"[']))).body).code).not.toBe('bad-json');
    expect(ledger.log.sequencedSize).toBe(before);
  });

  it('answers a 5 MB body written without waiting with its 413, read by the client (declared length)', async () => {
    const port = await serve();
    const s = await open(port);
    const body = Buffer.alloc(5 * 1024 * 1024, 0x20);
    // All of it at once, without Expect: 100-continue, reading only once it is all sent.
    const sent = await s.sendThenRead(Buffer.concat([Buffer.from(head('POST', '/records', { 'Content-Type': 'application/json', 'Content-Length': String(body.length) })), body]));
    expect(sent).toBeUndefined();
    const answer = await s.answer(10_000);
    const p = problem(answer, 413, 'body-too-large');
    expect(p.field).toBe('body');
    expect(answer.headers.connection).toBe('close');
    await s.closedByServer();
    expect(s.error).toBeUndefined();
  });

  it('answers a 5 MB chunked body written without waiting with its 413, read by the client (counted length)', async () => {
    const port = await serve();
    const s = await open(port);
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const parts: Buffer[] = [Buffer.from(head('POST', '/records', { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' }))];
    for (let i = 0; i < 80; i++) parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n'));
    parts.push(Buffer.from('0\r\n\r\n'));
    expect(await s.sendThenRead(Buffer.concat(parts))).toBeUndefined();
    const p = problem(await s.answer(10_000), 413, 'body-too-large');
    expect(p.detail).toContain('over 1048576 bytes');
    await s.closedByServer();
    expect(s.error).toBeUndefined();
  });

  it('drains an unread body after other refusals too (415)', async () => {
    const port = await serve();
    const s = await open(port);
    const body = Buffer.alloc(512 * 1024, 0x20);
    expect(await s.sendThenRead(Buffer.concat([Buffer.from(head('POST', '/records', { 'Content-Type': 'text/plain', 'Content-Length': String(body.length) })), body]))).toBeUndefined();
    problem(await s.answer(10_000), 415, 'unsupported-media-type');
    await s.closedByServer();
    expect(s.error).toBeUndefined();
  });
});

describe('pvl serve', () => {
  let proc: ChildProcess | undefined;
  afterEach(() => {
    if (proc?.exitCode === null) proc.kill('SIGKILL');
  });

  it('applies the limits given as flags', async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
    const { dir: data, cleanup: rm } = await tempDir('pvl-abuse-serve-');
    try {
      proc = spawn(process.execPath, [MAIN, 'serve', '--data', data, '--port', '0', '--origin', ORIGIN, '--headers-timeout', '300', '--max-connections-per-address', '1', '--max-event-streams', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      proc.stderr!.on('data', (d) => (stderr += d));
      const url = await new Promise<string>((ok, fail) => {
        createInterface({ input: proc!.stdout! }).on('line', (line) => {
          const m = /^listening on (http:\/\/\S+)$/.exec(line);
          if (m) ok(m[1]);
        });
        proc!.once('exit', (code) => fail(new Error(`pvl serve exited ${code}: ${stderr}`)));
      });
      const port = Number(new URL(url).port);

      const slow = await open(port, '127.0.0.1');
      await slow.write('GET /healthz HTTP/1.1\r\n');
      const second = await open(port, '127.0.0.1');
      await second.write(head('GET', '/healthz'));
      problem(await second.answer(), 429, 'too-many-connections');
      problem(await slow.answer(5_000), 408, 'header-timeout');

      const stream = await open(port, '127.0.0.2');
      await stream.write(head('GET', `/events?creator=${alice.ref}`));
      expect((await stream.answer(5_000, (b) => b.includes(': ok'))).status).toBe(200);
      const another = await open(port, '127.0.0.3');
      await another.write(head('GET', `/events?creator=${alice.ref}`));
      problem(await another.answer(), 503, 'too-many-streams');
    } finally {
      if (proc?.exitCode === null) {
        const exited = new Promise((ok) => proc!.once('exit', ok));
        proc.kill('SIGTERM');
        await exited;
      }
      await rm();
    }
  });
});

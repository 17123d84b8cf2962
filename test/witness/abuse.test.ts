/**
 * The witness's HTTP listener against oversized and hostile clients (issue 19, item 4): a real
 * witness (startWitnessServer: LevelDB, key, the same listener as `pvl witness serve`) on
 * loopback, driven by raw sockets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePrivateKey, parseVerifierKey, verifierKeyOf } from '../../src/note/index.js';
import { MAX_BODY_BYTES } from '../../src/witness/app.js';
import { type RunningWitness, startWitnessServer } from '../../src/witness/server.js';
import { RawConnection, head } from '../support/raw-http.js';
import { tempDir } from '../support/tmp.js';

const ORIGIN = 'test.example/witness-abuse';
const logKey = generatePrivateKey(ORIGIN);

let running: RunningWitness;
let cleanup: () => Promise<void>;
const sockets: RawConnection[] = [];

beforeAll(async () => {
  const t = await tempDir('pvl-witness-abuse-');
  cleanup = t.cleanup;
  running = await startWitnessServer({
    data: t.dir,
    key: generatePrivateKey('test.example/witness'),
    logs: new Map([[ORIGIN, [parseVerifierKey(verifierKeyOf(logKey))]]]),
    transport: { maxConnectionsPerAddress: 4 },
  });
});

afterAll(async () => {
  for (const s of sockets) s.close();
  await running?.close();
  await cleanup?.();
});

async function open(from = '127.0.0.1'): Promise<RawConnection> {
  const s = await RawConnection.open(running.port, from);
  sockets.push(s);
  return s;
}

const chunk = (bytes: Uint8Array) => Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n')]);

describe('witness bodies', () => {
  it('refuses a chunked body the moment it passes the limit, before the body ends, and never holds it whole', async () => {
    const s = await open();
    await s.write(head('POST', '/add-checkpoint', { 'Transfer-Encoding': 'chunked' }));
    // Past the limit, and the body is left open: a server that reads it whole first never answers.
    for (let i = 0; i < 4; i++) await s.write(chunk(Buffer.alloc(32 * 1024, 0x61)));
    const answer = await s.answer(5_000);
    expect(answer.status).toBe(413);
    expect(answer.headers['content-type']).toBe('application/problem+json');
    const p = JSON.parse(answer.body) as { code: string; detail: string };
    expect(p.code).toBe('too-large');
    expect(p.detail).toContain(`over ${MAX_BODY_BYTES} bytes`);
    expect(answer.headers.connection).toBe('close');
    // What the client still sends is read and dropped; then the connection closes cleanly.
    await s.write(chunk(Buffer.alloc(32 * 1024, 0x61)));
    await s.write('0\r\n\r\n');
    await s.closedByServer();
    expect(s.error).toBeUndefined();
  });

  it('answers a 5 MB body written without waiting with its 413, read by the client', async () => {
    const s = await open();
    const body = Buffer.alloc(5 * 1024 * 1024, 0x61);
    expect(await s.sendThenRead(Buffer.concat([Buffer.from(head('POST', '/add-checkpoint', { 'Content-Length': String(body.length) })), body]))).toBeUndefined();
    const answer = await s.answer(10_000);
    expect(answer.status).toBe(413);
    expect((JSON.parse(answer.body) as { code: string }).code).toBe('too-large');
    await s.closedByServer();
    expect(s.error).toBeUndefined();
  });

  it('applies the connection limits of the ledger server', async () => {
    const held: RawConnection[] = [];
    for (let i = 0; i < 4; i++) {
      const s = await open('127.0.0.5');
      await s.write(head('GET', '/'));
      expect((await s.answer()).status).toBe(200);
      held.push(s);
    }
    const fifth = await open('127.0.0.5');
    await fifth.write(head('GET', '/'));
    const answer = await fifth.answer();
    expect(answer.status).toBe(429);
    expect((JSON.parse(answer.body) as { code: string }).code).toBe('too-many-connections');
    for (const s of held) s.close();
  });
});

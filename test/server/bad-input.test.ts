/**
 * The bad input corpus (issue 7 §3): a table of malformed requests thrown at a real server (the
 * app behind the same node:http listener and fast read path `pvl serve` uses, over loopback, with
 * raw sockets so that hostile paths, broken bodies, trickled and truncated uploads reach the
 * server exactly as sent), and malformed files given to the CLI's parsers. Every case must get
 * the documented status and a problem document whose code and field name the cause; afterwards
 * the store — every key and value of the LevelDB database — must be byte-for-byte what it was.
 *
 * Expected statuses, codes and fields come from spec/api.md, spec/records.md and spec/cli.md.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { getRequestListener } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger } from '../../src/ledger/index.js';
import { formatPrivateKey, generatePrivateKey, verifierKeyOf } from '../../src/note/index.js';
import { nodeSigner } from '../../src/platform/node-signer.js';
import { canonicalJsonBytes } from '../../src/records/canonical.js';
import { type UseItem, RECORD_PAYLOAD_TYPE, encodeEntry, preAuthEncoding, signRecord, toBase64, toHex, writeManifest } from '../../src/records/index.js';
import { createApp } from '../../src/server/app.js';
import { withFastReads } from '../../src/server/fast-reads.js';
import { LevelLogStore } from '../../src/store/index.js';
import { type TestKey, alice, bob, builder1, creator, grant, item, revocation, sha256Id, signRaw, use, verify } from '../records/fixtures.js';
import { tempDir } from '../support/tmp.js';

const ORIGIN = 'test.example/bad-input';
const logKey = generatePrivateKey(ORIGIN);
const VKEY = verifierKeyOf(logKey);
const MAIN = resolve('dist/src/cli/main.js');
const run = promisify(execFile);
/** Short, so that the trickled uploads below are refused quickly; the server's default is 30 s. */
const BODY_IDLE_MS = 300;

let dir: string;
let cleanup: () => Promise<void>;
let store: LevelLogStore;
let ledger: Awaited<ReturnType<typeof openLedger>>;
let server: Server;
let port: number;
let url: string;

const enc = new TextEncoder();
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const sign = (payload: Parameters<typeof signRecord>[0], key: TestKey) => signRecord(payload, key.signer, { verify });

// ---- raw HTTP over a socket ---------------------------------------------------------------

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Parses an HTTP/1.1 response (Content-Length or chunked body). */
function parseResponse(raw: Buffer): RawAnswer {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, split).toString('latin1').split('\r\n');
  const status = Number(head[0].split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = raw.subarray(split + 4);
  if (headers['transfer-encoding'] === 'chunked') {
    const parts: Buffer[] = [];
    for (let at = 0; ; ) {
      const eol = body.indexOf('\r\n', at);
      const size = parseInt(body.subarray(at, eol).toString('latin1'), 16);
      if (!size) break;
      parts.push(body.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  }
  return { status, headers, body: body.toString('utf8') };
}

/**
 * Sends `parts` on a fresh connection (waiting `gapMs` between parts), optionally half-closes,
 * and collects everything until the server closes the connection. `null` when the server closed
 * without answering.
 */
function rawRequest(parts: Array<string | Uint8Array>, opts: { gapMs?: number; endAfter?: boolean } = {}): Promise<RawAnswer | null> {
  return new Promise((resolveAnswer, reject) => {
    const socket = connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    socket.on('data', (d) => got.push(d));
    socket.on('error', () => undefined); // a reset after the answer is fine; judged by what arrived
    socket.on('close', () => {
      const all = Buffer.concat(got);
      resolveAnswer(all.length === 0 ? null : parseResponse(all));
    });
    socket.setTimeout(10_000, () => {
      socket.destroy();
      reject(new Error('no answer within 10 s'));
    });
    socket.on('connect', async () => {
      for (const [i, p] of parts.entries()) {
        if (i > 0 && opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
        if (socket.destroyed) return;
        socket.write(p);
      }
      if (opts.endAfter) socket.end();
    });
  });
}

type Body = string | Uint8Array;
const bytesOf = (b: Body) => (typeof b === 'string' ? enc.encode(b) : b);

/** A complete request with Content-Length (or with no length and chunked framing). */
function request(method: string, path: string, body?: Body, headers: Record<string, string> = {}): Array<string | Uint8Array> {
  const h: Record<string, string> = { Host: '127.0.0.1', Connection: 'close', ...headers };
  if (body !== undefined && !('Transfer-Encoding' in h)) h['Content-Length'] = String(bytesOf(body).length);
  const head = `${method} ${path} HTTP/1.1\r\n${Object.entries(h)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
  if (body === undefined) return [head];
  if (h['Transfer-Encoding'] === 'chunked') {
    const b = bytesOf(body);
    return [head, Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n0\r\n\r\n')])];
  }
  return [head, bytesOf(body)];
}

const postJson = (path: string, body: Body, type = 'application/json') => request('POST', path, body, { 'Content-Type': type });
const postManifest = (query: string, body: Body, type = 'application/octet-stream') => request('POST', `/manifests?${query}`, body, { 'Content-Type': type });

// ---- the store, byte for byte -------------------------------------------------------------

/** SHA-256 over every key and value of the LevelDB database, in key order (length-prefixed). */
/** The whole store's digest and key count; `values` (key → value, hex) names what changed when they differ. */
async function storeDigest(): Promise<{ digest: string; keys: number; values: Map<string, string> }> {
  const h = createHash('sha256');
  let keys = 0;
  const len = Buffer.alloc(4);
  const values = new Map<string, string>();
  for await (const [k, v] of store.raw.iterator()) {
    for (const part of [k, v]) {
      len.writeUInt32BE(part.length);
      h.update(len).update(part);
    }
    values.set(Buffer.from(k).toString('hex'), Buffer.from(v).toString('hex'));
    keys++;
  }
  return { digest: h.digest('hex'), keys, values };
}

/** The keys whose values differ between two digests (added, removed or changed), for the failure message. */
function changedKeys(a: Map<string, string>, b: Map<string, string>): string[] {
  const keys = new Set([...a.keys(), ...b.keys()]);
  return [...keys].filter((k) => a.get(k) !== b.get(k)).map((k) => `${Buffer.from(k, 'hex').toString('latin1')}: ${a.get(k)?.slice(0, 80)} → ${b.get(k)?.slice(0, 80)}`);
}

// ---- the seeded log -----------------------------------------------------------------------

const W1 = sha256Id('bad-input work 1');
const W2 = sha256Id('bad-input work 2');
let seed: { creator: Uint8Array; grant: Uint8Array; manifest: { root: string; count: number; bytes: Uint8Array }; otherManifest: { root: string; count: number; bytes: Uint8Array } };

async function manifestOf(items: UseItem[]) {
  const parts: Uint8Array[] = [];
  const summary = await writeManifest(items, items.length, (c) => void parts.push(c.slice()));
  return { root: toHex(summary.root), count: summary.count, bytes: Buffer.concat(parts) as Uint8Array };
}

async function seedLog(): Promise<void> {
  const manifest = await manifestOf([item(W1, { index: 1 }), item(W2, { none: true })]);
  const otherManifest = await manifestOf([item(W2, { none: true }), item(W1, { none: true }), item(W1, { index: 1 })]);
  seed = { creator: sign(creator(alice), alice), grant: sign(grant(alice, [[W1]]), alice), manifest, otherManifest };
  const results = await ledger.submit([seed.creator, seed.grant]);
  expect(results.map((r) => r.index)).toEqual([0, 1]);
  const up = await ledger.putManifest(
    (async function* () {
      yield manifest.bytes;
    })(),
    { root: manifest.root, count: manifest.count },
  );
  expect(up.created).toBe(true);
  const uses = await ledger.submit([sign(use(builder1, 'm@1', [], { items: undefined, manifest: { root: manifest.root, count: manifest.count } }), builder1), sign(use(builder1, 'm@2', [item(W1, { index: 1 })]), builder1)]);
  expect(uses.map((r) => r.index)).toEqual([2, 3]);
  await ledger.waitForCheckpoint(3);
  while (ledger.indexedSize < 4) await new Promise((r) => setTimeout(r, 5));
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('pvl-bad-input-'));
  store = await LevelLogStore.open(join(dir, 'store'));
  ledger = await openLedger({ store, origin: ORIGIN, signer: nodeSigner(logKey), integrateIntervalMs: 5 });
  const app = createApp({ ledger, log: ledger.log, vkey: VKEY, keepaliveMs: 60_000, bodyIdleTimeoutMs: BODY_IDLE_MS });
  server = createServer(withFastReads(getRequestListener(app.fetch), { log: ledger.log, published: () => ledger.log.checkpoint }));
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  port = (server.address() as AddressInfo).port;
  url = `http://127.0.0.1:${port}`;
  await seedLog();
}, 20_000);

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((ok) => (server ? server.close(() => ok()) : ok()));
  await ledger?.close();
  await cleanup?.();
});

// ---- the corpus ---------------------------------------------------------------------------

interface Case {
  name: string;
  send: () => Array<string | Uint8Array>;
  status: number;
  code: string;
  /** The problem's `field`: exact, or a pattern. */
  field?: string | RegExp;
  gapMs?: number;
}

/** An envelope with its parts replaced (payload bytes, signature, keyid…), as JSON text. */
function envelope(parts: { payload?: Uint8Array | string; sig?: Uint8Array | string; keyid?: string; payloadType?: string; extra?: Record<string, unknown>; signatures?: unknown }): string {
  const payload = parts.payload === undefined ? canonicalJsonBytes(creator(bob)) : parts.payload;
  const payloadB64 = payload instanceof Uint8Array ? toBase64(payload) : payload;
  const sig = parts.sig ?? bob.signer.sign(preAuthEncoding(RECORD_PAYLOAD_TYPE, payload instanceof Uint8Array ? payload : enc.encode(String(payload))));
  const signatures = parts.signatures ?? [{ keyid: parts.keyid ?? bob.ref, sig: typeof sig === 'string' ? sig : toBase64(sig) }];
  return JSON.stringify({ payloadType: parts.payloadType ?? RECORD_PAYLOAD_TYPE, payload: payloadB64, signatures, ...parts.extra });
}

/** Payload JSON bytes signed correctly by `key` over exactly these bytes (canonical or not). */
function signedBytes(payload: Uint8Array, key: TestKey = bob): string {
  return text(encodeEntry({ payloadType: RECORD_PAYLOAD_TYPE, payload: toBase64(payload), signatures: [{ keyid: key.ref, sig: toBase64(key.signer.sign(preAuthEncoding(RECORD_PAYLOAD_TYPE, payload))) }] }));
}

const flipByte = (b: Uint8Array, at: number) => {
  const c = b.slice();
  c[at] ^= 0x01;
  return c;
};

function recordsCases(): Case[] {
  const good = text(sign(creator(bob), bob));
  const goodPayload = canonicalJsonBytes(creator(bob));
  const goodSig = bob.signer.sign(preAuthEncoding(RECORD_PAYLOAD_TYPE, goodPayload));
  const raw = (payload: unknown, key: TestKey = bob) => text(signRaw(payload, key));
  const bigName = 'x'.repeat(70_000);
  const c: Case[] = [
    // Broken JSON.
    ...['', '{', '[', '{"payloadType":', '{"a" 1}', '[1,]', "{'a': 1}", 'NaN', '{}}', '/* c */ {}', 'nul', '{"a":"\\x41"}', '[' + good, good.slice(0, -1)].map(
      (body, i): Case => ({ name: `broken JSON #${i}: ${JSON.stringify(body.slice(0, 20))}`, send: () => postJson('/records', body), status: 400, code: 'malformed-json', field: 'body' }),
    ),
    // Wrong types for the whole body and for envelope fields.
    ...['null', '1', '"envelope"', 'true', '{}', '\uFEFF{}', '[null]', '[1]', '[[' + good + ']]'].map(
      (body, i): Case => ({ name: `wrong body type #${i}: ${body.slice(0, 12)}`, send: () => postJson('/records', body), status: 400, code: 'bad-field', field: /^\[0\]\.(entry|payloadType)$/ }),
    ),
    { name: 'payloadType is a number', send: () => postJson('/records', envelope({ payloadType: 7 as unknown as string })), status: 400, code: 'bad-field', field: '[0].payloadType' },
    { name: 'payloadType of another kind', send: () => postJson('/records', envelope({ payloadType: 'application/json' })), status: 400, code: 'bad-field', field: '[0].payloadType' },
    { name: 'payload is a number', send: () => postJson('/records', envelope({ payload: 12 as unknown as string, sig: goodSig })), status: 400, code: 'bad-field', field: '[0].payload' },
    { name: 'signatures is an object', send: () => postJson('/records', envelope({ signatures: { keyid: bob.ref, sig: toBase64(goodSig) } })), status: 400, code: 'bad-field', field: '[0].signatures' },
    { name: 'no signatures', send: () => postJson('/records', envelope({ signatures: [] })), status: 400, code: 'bad-field', field: '[0].signatures' },
    { name: 'two signatures', send: () => postJson('/records', envelope({ signatures: [{ keyid: bob.ref, sig: toBase64(goodSig) }, { keyid: bob.ref, sig: toBase64(goodSig) }] })), status: 400, code: 'bad-field', field: '[0].signatures' },
    { name: 'unknown envelope field', send: () => postJson('/records', envelope({ extra: { note: 'hi' } })), status: 400, code: 'unknown-field', field: '[0].note' },
    { name: 'keyid malformed', send: () => postJson('/records', envelope({ keyid: 'ed25519:XYZ' })), status: 400, code: 'bad-key', field: '[0].signatures[0].keyid' },
    // Non-canonical encodings.
    { name: 'payload not RFC 8785 (key order), correctly signed', send: () => postJson('/records', signedBytes(enc.encode(JSON.stringify({ v: 1, type: 'creator', author: bob.ref, time: '2026-01-01T00:00:00Z', name: 'Bob' })))), status: 400, code: 'non-canonical', field: /^\[0\]\.payload/ },
    { name: 'payload with whitespace, correctly signed', send: () => postJson('/records', signedBytes(enc.encode(JSON.stringify(creator(bob), null, 1)))), status: 400, code: 'non-canonical', field: /^\[0\]\.payload/ },
    { name: 'payload base64 unpadded', send: () => postJson('/records', envelope({ payload: toBase64(goodPayload).replace(/=+$/, '') + (toBase64(goodPayload).endsWith('=') ? '' : 'A') })), status: 400, code: 'bad-base64', field: '[0].payload' },
    { name: 'payload base64url alphabet', send: () => postJson('/records', envelope({ payload: toBase64(enc.encode('{"name":"???>>>","type":"creator"}')).replace(/\+/g, '-').replace(/\//g, '_') })), status: 400, code: 'bad-base64', field: '[0].payload' },
    { name: 'payload base64 with a line break', send: () => postJson('/records', envelope({ payload: toBase64(goodPayload).replace(/^(.{8})/, '$1\n') })), status: 400, code: 'bad-base64', field: '[0].payload' },
    { name: 'payload is not JSON', send: () => postJson('/records', signedBytes(enc.encode('not json'))), status: 400, code: 'malformed-json', field: /^\[0\]\.payload/ },
    { name: 'time with milliseconds', send: () => postJson('/records', raw({ ...creator(bob), time: '2026-01-01T00:00:00.000Z' })), status: 400, code: 'bad-time', field: '[0].payload.time' },
    { name: 'work id in uppercase hex', send: () => postJson('/records', raw(grant(bob, [[W1.toUpperCase().replace('SHA256', 'sha256')]]))), status: 400, code: 'bad-work-id', field: /^\[0\]\.payload\.works/ },
    // Wrong types inside signed payloads.
    { name: 'payload type unknown', send: () => postJson('/records', raw({ ...creator(bob), type: 'creatorz' })), status: 400, code: 'unknown-type', field: '[0].payload.type' },
    { name: 'payload v is 2', send: () => postJson('/records', raw({ ...creator(bob), v: 2 })), status: 400, code: 'bad-field', field: '[0].payload.v' },
    { name: 'payload v is a string', send: () => postJson('/records', raw({ ...creator(bob), v: '1' })), status: 400, code: 'bad-field', field: '[0].payload.v' },
    { name: 'payload without author', send: () => postJson('/records', raw({ type: 'creator', v: 1, time: '2026-01-01T00:00:00Z', name: 'x' })), status: 400, code: 'missing-field', field: '[0].payload.author' },
    { name: 'payload with an unknown field', send: () => postJson('/records', raw({ ...creator(bob), colour: 'blue' })), status: 400, code: 'unknown-field', field: /^\[0\]\.payload/ },
    { name: 'name is a number', send: () => postJson('/records', raw({ ...creator(bob), name: 5 })), status: 400, code: 'bad-field', field: '[0].payload.name' },
    { name: 'grant works empty', send: () => postJson('/records', raw(grant(bob, []))), status: 400, code: 'bad-field', field: /^\[0\]\.payload\.works/ },
    { name: 'grant works not a list', send: () => postJson('/records', raw({ ...grant(bob, [[W1]]), works: W1 })), status: 400, code: 'bad-field', field: /^\[0\]\.payload\.works/ },
    { name: 'grant work id of unknown scheme', send: () => postJson('/records', raw(grant(bob, [['md5:00']]))), status: 400, code: 'bad-work-id', field: /^\[0\]\.payload\.works/ },
    { name: 'grant uses value wrong', send: () => postJson('/records', raw({ ...grant(bob, [[W1]]), uses: { ...grant(bob, [[W1]]).uses, ai_training: { use: 'maybe' } } })), status: 400, code: 'bad-field', field: /^\[0\]\.payload\.uses/ },
    { name: 'commercial is a string', send: () => postJson('/records', raw({ ...grant(bob, [[W1]]), commercial: 'yes' })), status: 400, code: 'bad-field', field: '[0].payload.commercial' },
    { name: 'use items empty', send: () => postJson('/records', raw(use(builder1, 'x@1', []), builder1)), status: 400, code: 'bad-field', field: /^\[0\]\.payload/ },
    { name: 'entry over 65,535 bytes', send: () => postJson('/records', raw({ ...creator(bob), name: bigName })), status: 400, code: 'too-large', field: /^\[0\]/ },
    // Bad or mismatched signatures.
    { name: 'signature with one bit flipped', send: () => postJson('/records', envelope({ sig: flipByte(goodSig, 10) })), status: 400, code: 'bad-signature', field: '[0].signatures[0].sig' },
    { name: 'signature over another payload', send: () => postJson('/records', envelope({ sig: bob.signer.sign(preAuthEncoding(RECORD_PAYLOAD_TYPE, canonicalJsonBytes(creator(bob, { name: 'other' })))) })), status: 400, code: 'bad-signature', field: '[0].signatures[0].sig' },
    { name: 'signature over the payload without PAE', send: () => postJson('/records', envelope({ sig: bob.signer.sign(goodPayload) })), status: 400, code: 'bad-signature', field: '[0].signatures[0].sig' },
    { name: 'signature truncated', send: () => postJson('/records', envelope({ sig: goodSig.subarray(0, 63) })), status: 400, code: 'bad-signature', field: '[0].signatures[0].sig' },
    { name: 'signature not base64', send: () => postJson('/records', envelope({ sig: '!!!!' })), status: 400, code: 'bad-base64', field: '[0].signatures[0].sig' },
    { name: 'signed by alice, keyid bob', send: () => postJson('/records', envelope({ sig: alice.signer.sign(preAuthEncoding(RECORD_PAYLOAD_TYPE, goodPayload)) })), status: 400, code: 'bad-signature', field: '[0].signatures[0].sig' },
    { name: 'keyid alice, author bob (signed by alice)', send: () => postJson('/records', text(signRaw(creator(bob), alice))), status: 400, code: 'bad-signature', field: '[0].signatures[0].keyid' },
    { name: 'author alice, signed and keyed by bob', send: () => postJson('/records', text(signRaw(creator(alice, { name: 'Mallory' }), bob))), status: 400, code: 'bad-signature', field: '[0].signatures[0].keyid' },
    { name: 'in a batch, element 2 has a bad signature (nothing of the batch is written)', send: () => postJson('/records', `[${good},${text(sign(creator(alice, { name: 'Alice 2' }), alice))},${envelope({ sig: flipByte(goodSig, 3), payload: canonicalJsonBytes(creator(bob, { name: 'b2' })) })}]`), status: 400, code: 'bad-signature', field: /^\[2\]/ },
    // Replayed and reordered records.
    { name: 'revocation of a grant that is not in the log', send: () => postJson('/records', text(sign(revocation(alice, { index: 90 }), alice))), status: 400, code: 'not-admissible', field: /^\[0\]\.payload\.grant/ },
    { name: "revocation of alice's grant by bob", send: () => postJson('/records', text(sign(revocation(bob, { index: 1 }), bob))), status: 400, code: 'not-admissible', field: /^\[0\]\.payload\.grant/ },
    { name: 'revocation before its grant in one batch', send: () => postJson('/records', `[${text(sign(revocation(bob, { index: 4 }), bob))},${text(sign(grant(bob, [[W2]]), bob))}]`), status: 400, code: 'not-admissible', field: /^\[0\]\.payload\.grant/ },
    { name: 'grant superseding an unknown grant', send: () => postJson('/records', text(sign(grant(alice, [[W2]], { supersedes: { index: 77 } }), alice))), status: 400, code: 'not-admissible', field: /^\[0\]\.payload\.supersedes/ },
    { name: 'use citing a consent index not in the log', send: () => postJson('/records', text(sign(use(builder1, 'z@1', [item(W1, { index: 55 })]), builder1))), status: 400, code: 'not-admissible', field: /^\[0\]\.payload\.items\[0\]\.consent/ },
    { name: 'use citing an unknown consent leaf hash', send: () => postJson('/records', text(sign(use(builder1, 'z@1', [item(W1, { leafHash: 'ab'.repeat(32) })]), builder1))), status: 400, code: 'not-admissible', field: /^\[0\]\.payload\.items\[0\]\.consent/ },
    { name: 'use with a manifest that was never uploaded', send: () => postJson('/records', text(sign(use(builder1, 'z@1', [], { items: undefined, manifest: { root: seed.otherManifest.root, count: 3 } }), builder1))), status: 400, code: 'manifest-missing', field: '[0].payload.manifest.root' },
    { name: 'use with the stored manifest root but another count', send: () => postJson('/records', text(sign(use(builder1, 'z@1', [], { items: undefined, manifest: { root: seed.manifest.root, count: 5 } }), builder1))), status: 400, code: 'manifest-mismatch', field: '[0].payload.manifest.count' },
    // Batches.
    { name: 'empty batch', send: () => postJson('/records', '[]'), status: 400, code: 'empty-batch', field: 'body' },
    { name: 'batch of 1,001', send: () => postJson('/records', `[${Array(1001).fill('0').join(',')}]`), status: 400, code: 'batch-too-large', field: 'body' },
    // Oversize bodies.
    { name: 'declared length over 1 MiB', send: () => [request('POST', '/records', undefined, { 'Content-Type': 'application/json', 'Content-Length': String(1024 * 1024 + 1) })[0]], status: 413, code: 'body-too-large', field: 'body' },
    { name: 'chunked body over 1 MiB', send: () => request('POST', '/records', `[${' '.repeat(1024 * 1024 + 10)}]`, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' }), status: 413, code: 'body-too-large', field: 'body' },
    // Media types.
    { name: 'no Content-Type', send: () => request('POST', '/records', good), status: 415, code: 'unsupported-media-type', field: 'Content-Type' },
    { name: 'Content-Type text/plain', send: () => postJson('/records', good, 'text/plain'), status: 415, code: 'unsupported-media-type', field: 'Content-Type' },
    { name: 'Content-Type form', send: () => postJson('/records', good, 'application/x-www-form-urlencoded'), status: 415, code: 'unsupported-media-type', field: 'Content-Type' },
    { name: 'Content-Type octet-stream', send: () => postJson('/records', good, 'application/octet-stream'), status: 415, code: 'unsupported-media-type', field: 'Content-Type' },
    // Invalid UTF-8.
    { name: 'UTF-8: lone 0xff byte', send: () => postJson('/records', Uint8Array.from([0x7b, 0xff, 0x7d])), status: 400, code: 'bad-utf8', field: 'body' },
    { name: 'UTF-8: overlong "/" (C0 AF)', send: () => postJson('/records', Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')])), status: 400, code: 'bad-utf8', field: 'body' },
    { name: 'UTF-8: encoded surrogate (ED A0 80)', send: () => postJson('/records', Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')])), status: 400, code: 'bad-utf8', field: 'body' },
    { name: 'UTF-8: truncated sequence at the end', send: () => postJson('/records', Buffer.concat([Buffer.from(good), Buffer.from([0xe2, 0x82])])), status: 400, code: 'bad-utf8', field: 'body' },
    { name: 'UTF-8: invalid bytes inside the payload', send: () => postJson('/records', signedBytes(Buffer.concat([Buffer.from('{"author":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]))), status: 400, code: 'bad-utf8', field: /^\[0\]\.payload/ },
    // Query parameters.
    { name: 'wait=now', send: () => postJson('/records?wait=now', good), status: 400, code: 'bad-parameter', field: 'wait' },
    { name: 'wait empty', send: () => postJson('/records?wait=', good), status: 400, code: 'bad-parameter', field: 'wait' },
    // Slow upload: the first bytes, then silence longer than the body timeout.
    { name: 'trickled body slower than the body timeout', send: () => [request('POST', '/records', good, { 'Content-Type': 'application/json' })[0], good.slice(0, 20), good.slice(20, 40)], gapMs: BODY_IDLE_MS * 3, status: 408, code: 'body-timeout', field: 'body' },
  ];
  return c;
}

function manifestCases(): Case[] {
  const m = () => seed.manifest;
  const o = () => seed.otherManifest;
  const q = (root: string, count: number | string) => `root=${root}&count=${count}`;
  const withByte = (at: number, value: number) => {
    const b = Uint8Array.from(o().bytes);
    b[at] = value;
    return b;
  };
  const ITEM0 = 16; // header size (spec/records.md)
  return [
    { name: 'root missing', send: () => postManifest(`count=3`, o().bytes), status: 400, code: 'bad-parameter', field: 'root' },
    { name: 'root uppercase', send: () => postManifest(q(o().root.toUpperCase(), 3), o().bytes), status: 400, code: 'bad-parameter', field: 'root' },
    { name: 'root 63 hex digits', send: () => postManifest(q(o().root.slice(1), 3), o().bytes), status: 400, code: 'bad-parameter', field: 'root' },
    { name: 'root not hex', send: () => postManifest(q('g'.repeat(64), 3), o().bytes), status: 400, code: 'bad-parameter', field: 'root' },
    { name: 'count missing', send: () => postManifest(`root=${o().root}`, o().bytes), status: 400, code: 'missing-parameter', field: 'count' },
    { name: 'count 0', send: () => postManifest(q(o().root, 0), o().bytes), status: 400, code: 'bad-parameter', field: 'count' },
    { name: 'count negative', send: () => postManifest(q(o().root, -3), o().bytes), status: 400, code: 'bad-parameter', field: 'count' },
    { name: 'count with a leading zero', send: () => postManifest(q(o().root, '03'), o().bytes), status: 400, code: 'bad-parameter', field: 'count' },
    { name: 'count in exponent form', send: () => postManifest(q(o().root, '3e0'), o().bytes), status: 400, code: 'bad-parameter', field: 'count' },
    { name: 'count 2^53', send: () => postManifest(q(o().root, '9007199254740992'), o().bytes), status: 400, code: 'bad-parameter', field: 'count' },
    { name: 'count with 30 digits', send: () => postManifest(q(o().root, '1'.repeat(30)), o().bytes), status: 400, code: 'bad-parameter', field: 'count' },
    { name: 'manifest as JSON', send: () => postManifest(q(o().root, 3), o().bytes, 'application/json'), status: 415, code: 'unsupported-media-type', field: 'Content-Type' },
    { name: 'manifest without Content-Type', send: () => request('POST', `/manifests?${q(o().root, 3)}`, o().bytes), status: 415, code: 'unsupported-media-type', field: 'Content-Type' },
    { name: 'empty manifest', send: () => postManifest(q(o().root, 3), new Uint8Array(0)), status: 400, code: 'bad-manifest' },
    { name: 'bad magic', send: () => postManifest(q(o().root, 3), withByte(0, 0x51)), status: 400, code: 'bad-manifest' },
    { name: 'unknown version', send: () => postManifest(q(o().root, 3), withByte(4, 2)), status: 400, code: 'bad-manifest' },
    { name: 'wrong item size', send: () => postManifest(q(o().root, 3), withByte(5, 48)), status: 400, code: 'bad-manifest' },
    { name: 'header count differs from the query', send: () => postManifest(q(o().root, 4), o().bytes), status: 400, code: 'count-mismatch', field: 'count' },
    { name: 'item with unknown flag bits', send: () => postManifest(q(o().root, 3), withByte(ITEM0, 0x80)), status: 400, code: 'bad-manifest' },
    { name: 'item with the reserved perceptual kind', send: () => postManifest(q(o().root, 3), withByte(ITEM0, 0x06)), status: 400, code: 'bad-manifest' },
    { name: 'truncated upload (last item cut)', send: () => postManifest(q(o().root, 3), o().bytes.subarray(0, o().bytes.length - 7)), status: 400, code: 'bad-manifest' },
    { name: 'header only', send: () => postManifest(q(o().root, 3), o().bytes.subarray(0, 16)), status: 400, code: 'bad-manifest' },
    { name: 'trailing bytes', send: () => postManifest(q(o().root, 3), Buffer.concat([o().bytes, Buffer.from([0])])), status: 400, code: 'bad-manifest' },
    { name: 'a different manifest under this root', send: () => postManifest(q(o().root, 2), m().bytes), status: 400, code: 'root-mismatch', field: 'root' },
    { name: 'an item changed (root no longer matches)', send: () => postManifest(q(o().root, 3), withByte(ITEM0 + 5, o().bytes[ITEM0 + 5] ^ 1)), status: 400, code: 'root-mismatch', field: 'root' },
    { name: 'stored root, another count', send: () => postManifest(q(m().root, 3), o().bytes), status: 409, code: 'manifest-conflict', field: 'count' },
    { name: 'chunked upload cut short', send: () => request('POST', `/manifests?${q(o().root, 3)}`, o().bytes.subarray(0, 40), { 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' }), status: 400, code: 'bad-manifest' },
    { name: 'trickled manifest slower than the body timeout', send: () => [request('POST', `/manifests?${q(o().root, 3)}`, o().bytes, { 'Content-Type': 'application/octet-stream' })[0], o().bytes.subarray(0, 20), o().bytes.subarray(20, 40)], gapMs: BODY_IDLE_MS * 3, status: 408, code: 'body-timeout', field: 'body' },
  ];
}

function readCases(): Case[] {
  const get = (path: string) => () => request('GET', path);
  const tile = (path: string, status = 400, code = 'bad-tile-path', field: string | RegExp | undefined = undefined): Case => ({ name: `tile ${path}`, send: get(path), status, code, field });
  return [
    // Hostile tile paths.
    { name: 'tile ../checkpoint', send: get('/tile/../checkpoint'), status: 400, code: 'bad-path', field: 'path' },
    { name: 'tile ../../etc/passwd', send: get('/tile/0/../../etc/passwd'), status: 400, code: 'bad-path', field: 'path' },
    { name: 'tile %2e%2e', send: get('/tile/%2e%2e/0/000'), status: 400, code: 'bad-path', field: 'path' },
    { name: 'tile %2E.', send: get('/tile/0/%2E./000'), status: 400, code: 'bad-path', field: 'path' },
    { name: 'tile ./ segment', send: get('/tile/./0/000'), status: 400, code: 'bad-path', field: 'path' },
    tile('/tile/0%2f000'),
    tile('/tile/0/000%2F'),
    tile('/tile/0%2F..%2F..%2Fetc'),
    tile('/tile//etc/passwd'),
    tile('/tile//0/000'),
    tile('/tile/0/000/'),
    tile('/tile/0/x'),
    tile('/tile/0/-1'),
    tile('/tile/0/01'),
    tile('/tile/0/0000'),
    tile('/tile/0/1000'),
    tile('/tile/0/x000/001'),
    tile('/tile/0/x1/000'),
    tile('/tile/0/99999999999999999999999999'),
    tile('/tile/0/x999/x999/x999/x999/x999/x999/999'),
    tile('/tile/99/000'),
    tile('/tile/-1/000'),
    tile('/tile/00/000'),
    tile('/tile/0/000.p/0'),
    tile('/tile/0/000.p/256'),
    tile('/tile/0/000.p/04'),
    tile('/tile/0/000.p/'),
    tile('/tile/0/000.q/4'),
    tile('/tile/entries/abc'),
    tile('/tile/entries/000.p/0'),
    tile('/tile/entries/000.p/4/extra'),
    tile('/tile/data/000'),
    tile('/tile/0/000.p/5', 404, 'tile-not-found', 'path'),
    tile('/tile/1/000', 404, 'tile-not-found', 'path'),
    tile('/tile/0/001', 404, 'tile-not-found', 'path'),
    tile('/tile/entries/000.p/9', 404, 'tile-not-found', 'path'),
    { name: 'absolute-form request target', send: () => [`GET http://evil.example/tile/../checkpoint HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n`], status: 400, code: 'bad-path', field: 'path' },
    // Query parameters of the read API.
    { name: 'inclusion index with a leading zero', send: get('/proof/inclusion?index=01'), status: 400, code: 'bad-parameter', field: 'index' },
    { name: 'inclusion index negative', send: get('/proof/inclusion?index=-1'), status: 400, code: 'bad-parameter', field: 'index' },
    { name: 'inclusion index 2^53 + 1', send: get('/proof/inclusion?index=9007199254740993'), status: 400, code: 'bad-parameter', field: 'index' },
    { name: 'inclusion index beyond the tree', send: get('/proof/inclusion?index=4'), status: 400, code: 'bad-index', field: 'index' },
    { name: 'inclusion index and leafHash', send: get(`/proof/inclusion?index=0&leafHash=${'00'.repeat(32)}`), status: 400, code: 'bad-parameter', field: 'leafHash' },
    { name: 'inclusion leafHash uppercase', send: get(`/proof/inclusion?leafHash=${'AB'.repeat(32)}`), status: 400, code: 'bad-parameter', field: 'leafHash' },
    { name: 'inclusion size beyond the tree', send: get('/proof/inclusion?index=0&size=5'), status: 400, code: 'bad-size', field: 'size' },
    { name: 'inclusion without index', send: get('/proof/inclusion'), status: 400, code: 'missing-parameter', field: 'index' },
    { name: 'consistency from 0', send: get('/proof/consistency?from=0'), status: 400, code: 'bad-parameter', field: 'from' },
    { name: 'consistency from after to', send: get('/proof/consistency?from=3&to=2'), status: 400, code: 'bad-size', field: 'from' },
    { name: 'consistency to in hex', send: get('/proof/consistency?from=1&to=0x4'), status: 400, code: 'bad-parameter', field: 'to' },
    { name: 'entries with a leading zero', send: get('/entries/01'), status: 400, code: 'bad-parameter', field: 'index' },
    { name: 'entries beyond the tree', send: get('/entries/4'), status: 404, code: 'unknown-entry', field: 'index' },
    { name: 'work id unknown scheme', send: get('/works/md5:00/uses'), status: 400, code: 'bad-work-id', field: 'work' },
    { name: 'work id short hex', send: get('/works/sha256:abcd/consents'), status: 400, code: 'bad-work-id', field: 'work' },
    { name: 'creator key malformed', send: get('/creators/ed25519:xyz/uses'), status: 400, code: 'bad-key', field: 'creator' },
    { name: 'identity key malformed', send: get('/identities/ed25519:xyz'), status: 400, code: 'bad-key', field: 'key' },
    { name: 'identity unknown to the log', send: get(`/identities/ed25519:${'0'.repeat(64)}`), status: 404, code: 'unknown-identity', field: 'key' },
    { name: 'model builder malformed', send: get('/models/bob/m@1'), status: 400, code: 'bad-key', field: 'builder' },
    { name: 'model without version', send: get(`/models/${builder1.ref}/m`), status: 400, code: 'bad-model', field: 'model' },
    { name: 'manifest root malformed', send: get('/manifests/ABC'), status: 400, code: 'bad-parameter', field: 'root' },
    { name: 'manifest item position with a leading zero', send: get(`/manifests/${'ab'.repeat(32)}/items/01`), status: 400, code: 'bad-parameter', field: 'position' },
    { name: 'similar works by sha256', send: get(`/works/similar?id=${W1}`), status: 400, code: 'bad-work-id', field: 'id' },
    { name: 'events for a malformed creator', send: get('/events?creator=nobody'), status: 400, code: 'bad-key', field: 'creator' },
    { name: 'events with a malformed Last-Event-ID', send: () => request('GET', `/events?creator=${alice.ref}`, undefined, { 'Last-Event-ID': '1.x' }), status: 400, code: 'bad-event-id' },
    { name: 'PUT /records', send: () => request('PUT', '/records', '{}', { 'Content-Type': 'application/json' }), status: 405, code: 'method-not-allowed' },
    { name: 'DELETE /manifests', send: () => request('DELETE', '/manifests'), status: 405, code: 'method-not-allowed' },
  ];
}

const CASES: Case[] = [...recordsCases(), ...manifestCases(), ...readCases()];

describe('the bad input corpus', () => {
  let before: { digest: string; keys: number; values: Map<string, string> };
  let checkpointBefore: string;

  beforeAll(async () => {
    // The seeded log's background work — indexing, then the /stats follower's tallies — writes
    // to the store behind the answers: let it finish before taking the digest.
    for (;;) {
      const stats = await ledger.stats();
      if (ledger.indexedSize === ledger.log.sequencedSize && stats.judged === stats.indexed && stats.indexed === ledger.indexedSize) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    // And any flush that follows them: the store must hold still for 100 ms.
    before = await storeDigest();
    for (;;) {
      await new Promise((r) => setTimeout(r, 100));
      const again = await storeDigest();
      if (again.digest === before.digest) break;
      before = again;
    }
    checkpointBefore = await (await fetch(`${url}/checkpoint`)).text();
  });

  it('has at least 100 distinct HTTP cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(100);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const answer = await rawRequest(c.send(), { gapMs: c.gapMs });
    expect(answer, 'the server answered').not.toBeNull();
    expect({ status: answer!.status, type: answer!.headers['content-type'] }).toEqual({ status: c.status, type: 'application/problem+json' });
    const problem = JSON.parse(answer!.body) as { status: number; code: string; field?: string; detail: string; type: string };
    expect(problem.status).toBe(c.status);
    expect(problem.code).toBe(c.code);
    expect(problem.type).toBe(`https://provenance-ledger.dev/problems/${c.code}`);
    expect(problem.detail.length).toBeGreaterThan(0);
    if (typeof c.field === 'string') expect(problem.field).toBe(c.field);
    else if (c.field) expect(problem.field).toMatch(c.field);
  });

  it('answers replays with the documented 200 duplicate at the original index', async () => {
    for (const [entry, index] of [
      [seed.creator, 0],
      [seed.grant, 1],
    ] as const) {
      const res = await fetch(`${url}/records`, { method: 'POST', body: text(entry), headers: { 'Content-Type': 'application/json' } });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ index, duplicate: true });
    }
    const res = await fetch(`${url}/records`, { method: 'POST', body: `[${text(seed.grant)},${text(seed.creator)},${text(seed.grant)}]`, headers: { 'Content-Type': 'application/json' } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { results: Array<{ index: number }> }).results.map((r) => r.index)).toEqual([1, 0, 1]);
    const again = await fetch(`${url}/manifests?root=${seed.manifest.root}&count=2`, { method: 'POST', body: new Uint8Array(seed.manifest.bytes), headers: { 'Content-Type': 'application/octet-stream' } });
    expect(again.status).toBe(200);
  });

  it('survives uploads cut off mid-body (no answer can reach a client that left)', async () => {
    const good = text(sign(creator(bob, { name: 'cut' }), bob));
    const cutRecords = [request('POST', '/records', good, { 'Content-Type': 'application/json' })[0], good.slice(0, 50)];
    const o = seed.otherManifest;
    const cutManifest = [request('POST', `/manifests?root=${o.root}&count=3`, o.bytes, { 'Content-Type': 'application/octet-stream' })[0], o.bytes.subarray(0, 60)];
    for (const parts of [cutRecords, cutManifest]) {
      const answer = await rawRequest(parts, { endAfter: true });
      // A client that half-closes mid-body gets node:http's own bare 400 (its parser sees the
      // end of the stream before the body's end), if anything; the app sees truncated-body.
      if (answer !== null) expect(answer.status).toBe(400);
    }
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
  });

  describe('CLI parsers (items, key and proof files)', () => {
    const files: Record<string, string | Uint8Array> = {};
    let keyFile: string;
    let recordProof: Record<string, unknown>;

    const pvl = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
      try {
        const { stdout, stderr } = await run('node', [MAIN, ...args], { cwd: dir });
        return { code: 0, stdout, stderr };
      } catch (e) {
        const err = e as { code: number; stdout: string; stderr: string };
        return { code: err.code, stdout: err.stdout, stderr: err.stderr };
      }
    };
    const file = async (name: string, content: string | Uint8Array) => {
      const path = join(dir, name);
      await writeFile(path, content);
      return path;
    };

    beforeAll(async () => {
      const key = generatePrivateKey('mallory');
      keyFile = await file('mallory.key', `${formatPrivateKey(key.name, key.seed)}\n`);
      // A valid record proof of entry 1, assembled from the read API as spec/cli.md describes it.
      const checkpoint = await (await fetch(`${url}/checkpoint`)).text();
      const inclusion = (await (await fetch(`${url}/proof/inclusion?index=1`)).json()) as { leafHash: string; proof: string[] };
      const entry = (await (await fetch(`${url}/entries/1`)).json()) as { entry: string };
      const tlogProof = `c2sp.org/tlog-proof@v1\nindex 1\n${inclusion.proof.map((h) => `${h}\n`).join('')}\n${checkpoint}`;
      recordProof = { type: 'pvl.record-proof/v1', index: 1, leafHash: inclusion.leafHash, entry: entry.entry, checkpoint, inclusionProof: inclusion.proof, tlogProof };
      files.tlogProof = tlogProof;
    });

    const declare = (items: string) => ['use', 'declare', '--server', url, '--vkey', VKEY, '--key', keyFile, '--model', 'mallory@1', '--items', items];
    const register = (key: string) => ['creator', 'register', '--server', url, '--vkey', VKEY, '--key', key, '--name', 'Mallory'];
    const verifyProof = (proof: string, ...extra: string[]) => ['verify', proof, '--vkey', VKEY, ...extra];
    const tampered = (change: Record<string, unknown>) => JSON.stringify({ ...recordProof, ...change });
    const flipB64 = (b64: string) => (b64[5] === 'A' ? `${b64.slice(0, 5)}B${b64.slice(6)}` : `${b64.slice(0, 5)}A${b64.slice(6)}`);

    interface CliCase {
      name: string;
      file: string;
      content: () => string | Uint8Array;
      args: (path: string) => string[];
      /** What the one error line must mention. */
      says: RegExp;
    }
    const cases: CliCase[] = [
      // Items files (spec/cli.md, use declare).
      { name: 'items: a line that is not JSON', file: 'a.jsonl', content: () => `{"work": "${W1}", "consent": "none"}\n{"work":\n`, args: declare, says: /a\.jsonl:2: not JSON/ },
      { name: 'items: unknown work id scheme', file: 'b.jsonl', content: () => `{"work": "md5:00", "consent": "none"}\n`, args: declare, says: /b\.jsonl:1: work/ },
      { name: 'items: work is a number', file: 'c.jsonl', content: () => `{"work": 5}\n`, args: declare, says: /c\.jsonl:1: work/ },
      { name: 'items: negative consent index', file: 'd.jsonl', content: () => `{"work": "${W1}", "consent": -1}\n`, args: declare, says: /items\[0\]\.consent/ },
      { name: 'items: consent word', file: 'e.jsonl', content: () => `{"work": "${W1}", "consent": "maybe"}\n`, args: declare, says: /e\.jsonl:1: consent/ },
      { name: 'items: two sha256 ids in one item', file: 'f.jsonl', content: () => `{"work": ["${W1}", "${W2}"], "consent": "none"}\n`, args: declare, says: /items\[0\]\.work\[1\]/ },
      { name: 'items: a pdq id (not in manifests)', file: 'g.jsonl', content: () => `{"work": ["${W1}", "pdq:${'ab'.repeat(32)}"], "consent": "none"}\n`, args: declare, says: /items\[0\]\.work\[1\]/ },
      { name: 'items: CSV with a bad work id', file: 'h.csv', content: () => `work,consent\nsha256:xyz,none\n`, args: declare, says: /h\.csv:2: work/ },
      { name: 'items: CSV with a bad consent', file: 'i.csv', content: () => `work,consent\n${W1},abc\n`, args: declare, says: /i\.csv:2: consent/ },
      { name: 'items: CSV with three columns', file: 'j.csv', content: () => `${W1},none,extra\n`, args: declare, says: /j\.csv:1: .*two columns/ },
      { name: 'items: invalid UTF-8', file: 'k.jsonl', content: () => Buffer.concat([Buffer.from('{"work": "'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n')]), args: declare, says: /k\.jsonl:1: work/ },
      { name: 'items: no items at all', file: 'l.jsonl', content: () => '\n\n', args: declare, says: /l\.jsonl has no items/ },
      { name: 'items: the file does not exist', file: 'missing-items.jsonl', content: () => '', args: () => declare(join(dir, 'nowhere.jsonl')), says: /nowhere\.jsonl/ },
      // Key files.
      { name: 'key: empty file', file: 'k1.key', content: () => '', args: register, says: /private key must start with PRIVATE\+KEY\+/ },
      { name: 'key: garbage', file: 'k2.key', content: () => 'hello world\n', args: register, says: /private key must start with PRIVATE\+KEY\+/ },
      { name: 'key: a verifier key instead of a private key', file: 'k3.key', content: () => `${VKEY}\n`, args: register, says: /private key must start with PRIVATE\+KEY\+/ },
      { name: 'key: private key with broken base64', file: 'k4.key', content: () => `${formatPrivateKey('m', new Uint8Array(32).fill(7)).slice(0, -3)}!!!\n`, args: register, says: /key data must be canonical base64/ },
      { name: 'key: private key with a wrong key hash', file: 'k5.key', content: () => formatPrivateKey('m', new Uint8Array(32).fill(7)).replace(/\+([0-9a-f]{8})\+/, (_m, h: string) => `+${h[0] === '0' ? '1' : '0'}${h.slice(1)}+`), args: register, says: /key ID does not match/ },
      { name: 'key: seed of 31 bytes', file: 'k6.key', content: () => `PRIVATE+KEY+m+00000000+${Buffer.concat([Buffer.from([1]), Buffer.alloc(31, 7)]).toString('base64')}\n`, args: register, says: /key data must be canonical base64/ },
      { name: 'key: the file does not exist', file: 'k7.key', content: () => '', args: () => register(join(dir, 'nowhere.key')), says: /nowhere\.key/ },
      // Proof files (pvl verify).
      { name: 'proof: empty file', file: 'p1.json', content: () => '', args: verifyProof, says: /proof|recogn|empty/i },
      { name: 'proof: neither JSON nor a tlog-proof', file: 'p2.json', content: () => 'hello\n', args: verifyProof, says: /proof|recogn/i },
      { name: 'proof: JSON of an unknown type', file: 'p3.json', content: () => '{"type": "pvl.other/v1"}', args: verifyProof, says: /type|recogn/i },
      { name: 'proof: record proof of another entry', file: 'p6.json', content: () => tampered({ entry: toBase64(seed.creator) }), args: verifyProof, says: /inclusion proof does not lead to the root/ },
      { name: 'proof: checkpoint signature tampered', file: 'p7.json', content: () => tampered({ tlogProof: (files.tlogProof as string).replace(/— (\S+) (\S+)\n$/, (_m, n: string, sig: string) => `— ${n} ${flipB64(sig)}\n`) }), args: verifyProof, says: /signature|checkpoint/i },
      { name: 'proof: checkpoint signed by another log key', file: 'p7b.json', content: () => tampered({}), args: (p) => ['verify', p, '--vkey', verifierKeyOf(generatePrivateKey(ORIGIN))], says: /signature|checkpoint|key/i },
      { name: 'proof: inclusion proof hash altered', file: 'p8.json', content: () => tampered({ tlogProof: (files.tlogProof as string).replace(/^index 1\n(\S+)\n/m, (_m, h: string) => `index 1\n${flipB64(h)}\n`) }), args: verifyProof, says: /proof|root/i },
      { name: 'proof: record proof without its tlog-proof', file: 'p8b.json', content: () => tampered({ tlogProof: undefined }), args: verifyProof, says: /proof file type/ },
      { name: 'proof: entry not base64', file: 'p8c.json', content: () => tampered({ entry: '***' }), args: verifyProof, says: /proof|root|entry|base64/i },
      { name: 'proof: index field changed', file: 'p10.json', content: () => tampered({ index: 2 }), args: verifyProof, says: /index does not match the verified tlog-proof/ },
      { name: 'proof: leafHash field changed', file: 'p11.json', content: () => tampered({ leafHash: '00'.repeat(32) }), args: verifyProof, says: /leafHash does not match/ },
      { name: 'proof: checkpoint field changed', file: 'p12.json', content: () => tampered({ checkpoint: 'x' }), args: verifyProof, says: /checkpoint does not match/ },
      { name: 'proof: inclusionProof field changed', file: 'p13.json', content: () => tampered({ inclusionProof: [] }), args: verifyProof, says: /inclusionProof does not match/ },
      { name: 'proof: record proof is an array', file: 'p9.json', content: () => `[${tampered({})}]`, args: verifyProof, says: /proof|recogn|type/i },
      { name: 'proof: tlog-proof without --entry or --leaf-hash', file: 'p10.txt', content: () => files.tlogProof as string, args: verifyProof, says: /--entry|--leaf-hash/ },
      { name: 'proof: tlog-proof with a bad base64 line', file: 'p11.txt', content: () => (files.tlogProof as string).replace(/^index 1\n/m, 'index 1\n***\n'), args: (p) => verifyProof(p, '--leaf-hash', recordProof.leafHash as string), says: /base64|proof/i },
      { name: 'proof: tlog-proof with a non-decimal index', file: 'p12.txt', content: () => (files.tlogProof as string).replace(/^index 1$/m, 'index 01'), args: (p) => verifyProof(p, '--leaf-hash', recordProof.leafHash as string), says: /index/i },
      { name: 'proof: tlog-proof for another leaf hash', file: 'p13.txt', content: () => files.tlogProof as string, args: (p) => verifyProof(p, '--leaf-hash', 'ab'.repeat(32)), says: /proof|root|verif/i },
      // Options (the file is not read).
      { name: 'audit: --manifest-items-max not a number', file: 'o1.txt', content: () => '', args: () => ['audit', '--server', url, '--vkey', 'x', '--manifest-items-max', 'many'], says: /--manifest-items-max must be a whole number, got "many"/ },
      { name: 'audit: --manifest-items-max negative', file: 'o2.txt', content: () => '', args: () => ['audit', '--server', url, '--vkey', 'x', '--manifest-items-max', '-1'], says: /--manifest-items-max must be a whole number/ },
    ];

    it('verifies the untampered record proof (control)', async () => {
      const r = await pvl(...verifyProof(await file('good-proof.json', JSON.stringify(recordProof))));
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^OK record-proof verified/);
    });

    it(`refuses ${cases.length} malformed files with exit ≠ 0 and one readable line`, async () => {
      expect(CASES.length + cases.length).toBeGreaterThanOrEqual(130);
      const results = new Map<string, Awaited<ReturnType<typeof pvl>>>();
      const queue = [...cases];
      // Three at a time: each is a node process start (~0.3 s).
      await Promise.all(
        [0, 1, 2].map(async () => {
          for (let c = queue.shift(); c; c = queue.shift()) {
            const path = await file(c.file, c.content());
            results.set(c.name, await pvl(...c.args(path)));
          }
        }),
      );
      for (const c of cases) {
        const r = results.get(c.name)!;
        // Progress lines may precede it on stderr (spec/cli.md); the error is the one `pvl:` line.
        const lines = r.stderr.split('\n').filter((l) => l.startsWith('pvl:') && !l.startsWith('pvl: note:'));
        expect({ name: c.name, failed: r.code !== 0, lines: lines.length, stdout: r.stdout }).toEqual({ name: c.name, failed: true, lines: 1, stdout: '' });
        expect(lines[0], c.name).toMatch(c.says);
      }
    }, 60_000);
  });

  it('leaves the store byte-for-byte unchanged', async () => {
    // Give any (wrongly) sequenced entry time to be integrated and indexed before comparing.
    await new Promise((r) => setTimeout(r, 100));
    const after = await storeDigest();
    expect(changedKeys(before.values, after.values)).toEqual([]);
    expect({ digest: after.digest, keys: after.keys }).toEqual({ digest: before.digest, keys: before.keys });
    expect(await (await fetch(`${url}/checkpoint`)).text()).toBe(checkpointBefore);
    expect(ledger.log.sequencedSize).toBe(4);
    expect(before.keys).toBeGreaterThan(10);
  });
});

/**
 * The HTTP API in process (app.request) over a real ledger on LevelDB in a temp dir. Expected
 * values are recomputed independently: leaf hashes with node:crypto SHA-256 of 0x00 ‖ entry,
 * inclusion proofs checked with src/merkle against the signed checkpoint opened with src/note.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { openLedger } from '../../src/ledger/index.js';
import { verifyConsistency, verifyInclusion } from '../../src/merkle/index.js';
import { generatePrivateKey, openCheckpoint, parseVerifierKey, verifierKeyOf } from '../../src/note/index.js';
import { nodeHasher } from '../../src/platform/node-hasher.js';
import { nodeSigner } from '../../src/platform/node-signer.js';
import { type UseItem, MANIFEST_HEADER_SIZE, encodeManifestItem, signRecord, toHex, verifyManifestItem, writeManifest } from '../../src/records/index.js';
import { LedgerClient } from '../../src/client/index.js';
import { createApp } from '../../src/server/app.js';
import { LevelLogStore } from '../../src/store/index.js';
import { alice, builder1, creator, grant, item, sha256Id, use, verify } from '../records/fixtures.js';
import { tempDir } from '../support/tmp.js';

const ORIGIN = 'test.example/server';
const logKey = generatePrivateKey(ORIGIN);
const vkey = verifierKeyOf(logKey);

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function setup() {
  const { dir, cleanup } = await tempDir('pvl-server-');
  const store = await LevelLogStore.open(dir);
  const ledger = await openLedger({ store, origin: ORIGIN, signer: nodeSigner(logKey), integrateIntervalMs: 5 });
  const shutdown = new AbortController();
  const app = createApp({ ledger, log: ledger.log, vkey, shutdown: shutdown.signal, keepaliveMs: 60_000 });
  cleanups.push(cleanup, async () => {
    shutdown.abort();
    await ledger.close();
  });
  return { app, ledger };
}

const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());
const leafHash = (entry: Uint8Array) => sha256(new Uint8Array([0, ...entry]));
const sign = (payload: Parameters<typeof signRecord>[0], key: typeof alice) => signRecord(payload, key.signer, { verify });
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

type App = Awaited<ReturnType<typeof setup>>['app'];
function post(app: App, path: string, body: string | Uint8Array, type = 'application/json') {
  return app.request(path, { method: 'POST', body: typeof body === 'string' ? body : new Blob([new Uint8Array(body)]), headers: { 'Content-Type': type } });
}

async function expectProblem(res: Response, status: number, code: string): Promise<Record<string, unknown>> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const body = (await res.json()) as Record<string, unknown>;
  expect(body.status).toBe(status);
  expect(body.code).toBe(code);
  expect(typeof body.detail).toBe('string');
  return body;
}

/** Parses a c2sp.org/tlog-proof@v1 file as specified in spec/api.md. */
function parseProofFile(text: string): { index: number; proof: Uint8Array[]; checkpoint: string } {
  const blank = text.indexOf('\n\n');
  const head = text.slice(0, blank).split('\n');
  expect(head[0]).toBe('c2sp.org/tlog-proof@v1');
  const m = /^index ([0-9]+)$/.exec(head[1]);
  expect(m).not.toBeNull();
  return { index: Number(m![1]), proof: head.slice(2).map((l) => new Uint8Array(Buffer.from(l, 'base64'))), checkpoint: text.slice(blank + 2) };
}

describe('POST /records', () => {
  it('appends a record and, with ?wait=checkpoint, returns a tlog-proof that verifies', async () => {
    const { app } = await setup();
    const first = sign(creator(alice), alice);
    const r1 = await post(app, '/records', Buffer.from(first));
    expect(r1.status).toBe(201);
    const b1 = (await r1.json()) as { index: number; leafHash: string };
    expect(b1.index).toBe(0);
    expect(b1.leafHash).toBe(Buffer.from(leafHash(first)).toString('hex'));

    const second = sign(grant(alice, [[sha256Id('w1')]]), alice);
    const r2 = await post(app, '/records?wait=checkpoint', Buffer.from(second));
    expect(r2.status).toBe(201);
    const b2 = (await r2.json()) as { index: number; proof: string; checkpoint: string };
    expect(b2.index).toBe(1);
    const file = parseProofFile(b2.proof);
    expect(file.index).toBe(1);
    expect(file.checkpoint).toBe(b2.checkpoint);
    const cp = openCheckpoint(file.checkpoint, parseVerifierKey(vkey)).checkpoint;
    expect(cp.origin).toBe(ORIGIN);
    expect(cp.size).toBeGreaterThanOrEqual(2);
    expect(() => verifyInclusion(nodeHasher, 1, cp.size, leafHash(second), file.proof, cp.rootHash)).not.toThrow();
    // A flipped proof byte must not verify: the check above is not vacuous.
    if (file.proof.length > 0) {
      file.proof[0][0] ^= 1;
      expect(() => verifyInclusion(nodeHasher, 1, cp.size, leafHash(second), file.proof, cp.rootHash)).toThrow();
    }

    // Resubmitting is a duplicate: 200 and the same index.
    const again = await post(app, '/records', Buffer.from(second));
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ index: 1, duplicate: true });
  });

  it('answers problem+json for bad JSON, a bad signature, a wrong media type and an oversized body', async () => {
    const { app } = await setup();
    await expectProblem(await post(app, '/records', '{"payload":'), 400, 'malformed-json');
    const good = JSON.parse(Buffer.from(sign(creator(alice), alice)).toString()) as { signatures: Array<{ sig: string }> };
    const sig = Buffer.from(good.signatures[0].sig, 'base64');
    sig[0] ^= 1;
    good.signatures[0].sig = sig.toString('base64');
    const bad = await post(app, '/records', JSON.stringify(good));
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    await expectProblem(await post(app, '/records', '{}', 'text/plain'), 415, 'unsupported-media-type');
    await expectProblem(await post(app, '/records', `"${'x'.repeat(1024 * 1024 + 1)}"`), 413, 'body-too-large');
    await expectProblem(await post(app, '/records?wait=soon', '{}'), 400, 'bad-parameter');
    // Nothing was appended by any of these.
    expect(((await (await app.request('/healthz')).json()) as { sequenced: number }).sequenced).toBe(0);
  });
});

describe('tlog-tiles reads', () => {
  it('serves tiles whose bytes are the leaf hashes and entry bundles of what was submitted', async () => {
    const { app, ledger } = await setup();
    const entries = [sign(creator(alice), alice), sign(grant(alice, [[sha256Id('a')]]), alice), sign(grant(alice, [[sha256Id('b')]]), alice)];
    const res = await post(app, '/records', `[${entries.map((e) => Buffer.from(e).toString()).join(',')}]`);
    expect(res.status).toBe(201);
    await ledger.waitForCheckpoint(2);

    const checkpoint = await app.request('/checkpoint');
    expect(checkpoint.headers.get('cache-control')).toMatch(/max-age=1/);
    const cp = openCheckpoint(new Uint8Array(await checkpoint.arrayBuffer()), parseVerifierKey(vkey)).checkpoint;
    const n = cp.size;
    expect(n).toBe(3);

    const tile = await app.request(`/tile/0/000.p/${n}`);
    expect(tile.status).toBe(200);
    expect(tile.headers.get('cache-control')).toBe('max-age=1');
    expect(tile.headers.get('access-control-allow-origin')).toBe('*');
    const expected = Buffer.concat(entries.map(leafHash));
    expect(Buffer.from(await tile.arrayBuffer()).equals(expected)).toBe(true);

    const bundle = Buffer.from(await (await app.request(`/tile/entries/000.p/${n}`)).arrayBuffer());
    const lengthPrefixed = Buffer.concat(entries.flatMap((e) => [Buffer.from([e.length >> 8, e.length & 0xff]), Buffer.from(e)]));
    expect(bundle.equals(lengthPrefixed)).toBe(true);

    // A tile wider than the tree is not there; a full tile of this tree does not exist yet.
    await expectProblem(await app.request(`/tile/0/000.p/${n + 1}`), 404, 'tile-not-found');
    await expectProblem(await app.request('/tile/0/000'), 404, 'tile-not-found');
  });

  it('refuses malformed tile paths with 400 problems', async () => {
    const { app } = await setup();
    for (const path of ['/tile/0/x001', '/tile/0/000.p/0', '/tile/0/000.p/256', '/tile/99/000', '/tile/0/1000', '/tile/0/000.p/01']) {
      const res = await app.request(path);
      expect(res.status, path).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
  });

  it('serves the verifier key and answers 405 with Allow to other methods', async () => {
    const { app } = await setup();
    expect(await (await app.request('/log/vkey')).text()).toBe(`${vkey}\n`);
    const res = await app.request('/checkpoint', { method: 'POST', body: 'x' });
    await expectProblem(res, 405, 'method-not-allowed');
    expect(res.headers.get('allow')).toContain('GET');
  });

  it('opens reads to other origins (answers and problems alike) and nothing else', async () => {
    const { app } = await setup();
    const json = await app.request('/healthz');
    expect(json.headers.get('access-control-allow-origin')).toBe('*');
    expect(json.headers.get('access-control-expose-headers')).toContain('Cache-Control');
    const missing = await app.request('/works/sha256:' + '0'.repeat(63) + 'g/uses');
    expect(missing.status).toBe(400);
    expect(missing.headers.get('access-control-allow-origin')).toBe('*');
    const preflight = await app.request('/works/x/uses', { method: 'OPTIONS', headers: { 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'last-event-id, accept' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-methods')).toBe('GET,HEAD');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('last-event-id,accept');
    const post = await app.request('/records', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    expect(post.status).toBe(400);
    expect(post.headers.get('access-control-allow-origin')).toBeNull();
  });
});

/** Reads SSE events from a response body until `count` events arrived. */
async function readEvents(res: Response, count: number): Promise<Array<{ id: string; event: string; data: unknown }>> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const events: Array<{ id: string; event: string; data: unknown }> = [];
  while (events.length < count) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = text.indexOf('\n\n')) >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      const fields = Object.fromEntries(block.split('\n').filter((l) => !l.startsWith(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trimStart()]));
      if (fields.event) events.push({ id: fields.id, event: fields.event, data: JSON.parse(fields.data) });
    }
  }
  await reader.cancel();
  return events;
}

describe('GET /events', () => {
  it('delivers new uses of a creator\u2019s works live and replays after Last-Event-ID', async () => {
    const { app, ledger } = await setup();
    const W1 = sha256Id('ev-1');
    const [, ga] = await ledger.submit([sign(creator(alice), alice), sign(grant(alice, [[W1]]), alice)]);
    await ledger.waitForCheckpoint(ga.index);

    const live = await app.request(`/events?creator=${alice.ref}`);
    expect(live.status).toBe(200);
    expect(live.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const liveEvents = readEvents(live, 2);
    const [u1] = await ledger.submit([sign(use(builder1, 'm@1', [item(W1, { index: ga.index })]), builder1)]);
    const [u2] = await ledger.submit([sign(use(builder1, 'm@2', [item(W1, { index: ga.index })]), builder1)]);
    const got = await liveEvents;
    expect(got.map((e) => e.id)).toEqual([`${u1.index}.0`, `${u2.index}.0`]);
    expect(got.every((e) => e.event === 'use')).toBe(true);
    expect((got[0].data as { useIndex: number }).useIndex).toBe(u1.index);

    const resumed = await app.request(`/events?creator=${alice.ref}`, { headers: { 'Last-Event-ID': `${u1.index}.0` } });
    const replay = await readEvents(resumed, 1);
    expect(replay.map((e) => e.id)).toEqual([`${u2.index}.0`]);

    await expectProblem(await app.request(`/events?creator=${alice.ref}`, { headers: { 'Last-Event-ID': 'nope' } }), 400, 'bad-event-id');
    await expectProblem(await app.request('/events?creator=ed25519:zz'), 400, 'bad-key');
  });
});

describe('queries and operations', () => {
  it('answers problems for bad identifiers and serves metrics, healthz and openapi', async () => {
    const { app } = await setup();
    await expectProblem(await app.request('/works/sha256:12/uses'), 400, 'bad-work-id');
    await expectProblem(await app.request('/manifests/ABC'), 400, 'bad-parameter');
    await expectProblem(await app.request(`/manifests/${'0'.repeat(64)}`), 404, 'unknown-manifest');
    await expectProblem(await app.request('/proof/inclusion?index=0'), 400, 'bad-index');
    const uses = (await (await app.request(`/works/${sha256Id('none')}/uses`)).json()) as { uses: unknown[] };
    expect(uses.uses).toEqual([]);
    const metrics = await (await app.request('/metrics')).text();
    expect(metrics).toMatch(/^pvl_tree_size 0$/m);
    expect(metrics).toMatch(/pvl_records_rejected_total/);
    const spaces = Object.fromEntries([...metrics.matchAll(/^nodejs_heap_space_size_total_bytes\{space="(\w+)"\} (\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
    expect(spaces.new_space).toBeGreaterThan(0);
    expect(spaces.old_space).toBeGreaterThan(0);
    const openapi = (await (await app.request('/openapi.json')).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(openapi.openapi).toMatch(/^3\./);
    expect(Object.keys(openapi.paths)).toContain('/records');
    expect(b64(new Uint8Array(0))).toBe('');
  });
});

describe('manifests', () => {
  async function manifest(n: number) {
    const items: UseItem[] = Array.from({ length: n }, (_, i) => item(sha256Id(`m ${i}`), { none: true }));
    const parts: Uint8Array[] = [];
    const summary = await writeManifest(items, n, (c) => void parts.push(c.slice()));
    return { items, bytes: Buffer.concat(parts), root: toHex(summary.root), count: summary.count };
  }
  const upload = (app: App, q: string, bytes: Uint8Array) => post(app, `/manifests?${q}`, bytes, 'application/octet-stream');

  it('stores a streamed manifest that matches, serves items with proofs, refuses truncated and mismatched ones', async () => {
    const { app } = await setup();
    const m = await manifest(5);
    const other = await manifest(4);
    const cut = await expectProblem(await upload(app, `root=${m.root}&count=5`, m.bytes.subarray(0, m.bytes.length - 7)), 400, 'bad-manifest');
    expect(String(cut.detail)).toMatch(/truncat|end/i);
    await expectProblem(await upload(app, `root=${other.root}&count=5`, m.bytes), 400, 'root-mismatch');
    await expectProblem(await upload(app, `root=${m.root}&count=6`, m.bytes), 400, 'count-mismatch');
    await expectProblem(await upload(app, `root=${m.root}&count=5`, new Uint8Array(0)), 400, 'bad-manifest');
    await expectProblem(await post(app, `/manifests?root=${m.root}&count=5`, 'x'), 415, 'unsupported-media-type');
    await expectProblem(await app.request(`/manifests/${m.root}`), 404, 'unknown-manifest');

    const created = await upload(app, `root=${m.root}&count=5`, m.bytes);
    expect(created.status).toBe(201);
    // Unclaimed until a training use names it: `expires` says when it is removed otherwise.
    const stored = (await created.json()) as { expires: string };
    expect(stored).toEqual({ root: m.root, count: 5, expires: expect.any(String) });
    expect((await upload(app, `root=${m.root}&count=5`, m.bytes)).status).toBe(200);
    expect(await (await app.request(`/manifests/${m.root}`)).json()).toEqual({ root: m.root, count: 5, useIndexes: [], expires: stored.expires });

    const got = (await (await app.request(`/manifests/${m.root}/items/3`)).json()) as { item: string; proof: string[]; count: number };
    const itemBytes = new Uint8Array(Buffer.from(got.item, 'base64'));
    expect(Buffer.from(itemBytes).equals(Buffer.from(encodeManifestItem(m.items[3])))).toBe(true);
    const proof = got.proof.map((h) => new Uint8Array(Buffer.from(h, 'base64')));
    expect(() => verifyManifestItem(itemBytes, 3, 5, proof, new Uint8Array(Buffer.from(m.root, 'hex')))).not.toThrow();
    await expectProblem(await app.request(`/manifests/${m.root}/items/5`), 404, 'unknown-manifest-item');
  });

  it('serves a whole manifest as uploaded; the client checks it against the record and refuses altered bytes', async () => {
    const { app } = await setup();
    // 700 items: three stored chunks, the last one partial.
    const m = await manifest(700);
    expect((await upload(app, `root=${m.root}&count=700`, m.bytes)).status).toBe(201);
    const res = await app.request(`/manifests/${m.root}/items`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('content-length')).toBe(String(m.bytes.length));
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(m.bytes))).toBe(true);
    await expectProblem(await app.request(`/manifests/${'ab'.repeat(32)}/items`), 404, 'unknown-manifest');
    await expectProblem(await app.request(`/manifests/xyz/items`), 400, 'bad-parameter');

    /** A client whose requests reach the app, with the manifest bytes passed through `alter`. */
    const clientWith = (alter: (bytes: Uint8Array) => Uint8Array) =>
      new LedgerClient('http://ledger.invalid', {
        verifier: vkey,
        fetch: (async (url: string) => {
          const answer = await app.request(new URL(url).pathname);
          return new Response(alter(new Uint8Array(await answer.arrayBuffer())) as Uint8Array<ArrayBuffer>, { status: answer.status, headers: answer.headers });
        }) as typeof fetch,
      });
    const download = async (client: LedgerClient, expected = { root: m.root, count: 700 }) => {
      const parts: Uint8Array[] = [];
      for await (const items of client.manifestItems(expected)) parts.push(items.slice());
      return Buffer.concat(parts);
    };
    expect((await download(clientWith((b) => b))).equals(Buffer.from(m.bytes.subarray(MANIFEST_HEADER_SIZE)))).toBe(true);
    const flipped = (b: Uint8Array) => b.map((x, i) => (i === MANIFEST_HEADER_SIZE + 3 ? x ^ 1 : x)); // a digest byte of item 0
    await expect(download(clientWith(flipped))).rejects.toMatchObject({ code: 'root-mismatch' });
    await expect(download(clientWith((b) => b.subarray(0, b.length - 49)))).rejects.toMatchObject({ code: 'bad-manifest' });
    await expect(download(clientWith((b) => b), { root: m.root, count: 701 })).rejects.toMatchObject({ code: 'count-mismatch' });
    const other = await manifest(3);
    await expect(download(clientWith((b) => b), { root: other.root, count: 3 })).rejects.toMatchObject({ code: 'http-404' });
  });
});

describe('an unavailable store', () => {
  it('answers 503 problems once the ledger is closed', async () => {
    const { app, ledger } = await setup();
    await ledger.close();
    const res = await post(app, '/records', Buffer.from(sign(creator(alice), alice)).toString());
    const body = await expectProblem(res, 503, (await res.clone().json() as { code: string }).code);
    expect(['closed', 'store-unavailable']).toContain(body.code);
  });
});

describe('proof endpoints', () => {
  it('serves inclusion (by index and by leaf hash) and consistency proofs that verify against signed checkpoints', async () => {
    const { app, ledger } = await setup();
    const entries = [sign(creator(alice), alice), ...['p1', 'p2', 'p3', 'p4'].map((w) => sign(grant(alice, [[sha256Id(w)]]), alice))];
    await ledger.submit(entries.slice(0, 2));
    const small = await ledger.waitForCheckpoint(1);
    const smallCp = openCheckpoint(Buffer.from(small.note).toString(), parseVerifierKey(vkey)).checkpoint;
    await ledger.submit(entries.slice(2));
    await ledger.waitForCheckpoint(4);
    const cp = openCheckpoint(await (await app.request('/checkpoint')).text(), parseVerifierKey(vkey)).checkpoint;
    const decode = (l: string[]) => l.map((h) => new Uint8Array(Buffer.from(h, 'base64')));

    const byIndex = (await (await app.request('/proof/inclusion?index=3')).json()) as { size: number; leafHash: string; proof: string[] };
    expect(byIndex.size).toBe(cp.size);
    expect(byIndex.leafHash).toBe(Buffer.from(leafHash(entries[3])).toString('hex'));
    expect(() => verifyInclusion(nodeHasher, 3, cp.size, leafHash(entries[3]), decode(byIndex.proof), cp.rootHash)).not.toThrow();
    const byHash = (await (await app.request(`/proof/inclusion?leafHash=${byIndex.leafHash}`)).json()) as { index: number; proof: string[] };
    expect(byHash.index).toBe(3);
    expect(byHash.proof).toEqual(byIndex.proof);
    await expectProblem(await app.request(`/proof/inclusion?leafHash=${'ab'.repeat(32)}`), 404, 'unknown-leaf');

    const cons = (await (await app.request(`/proof/consistency?from=${smallCp.size}`)).json()) as { to: number; proof: string[] };
    expect(cons.to).toBe(cp.size);
    expect(() => verifyConsistency(nodeHasher, smallCp.size, cp.size, decode(cons.proof), smallCp.rootHash, cp.rootHash)).not.toThrow();
    await expectProblem(await app.request('/proof/consistency?from=0'), 400, 'bad-parameter');
    await expectProblem(await app.request(`/proof/consistency?from=${cp.size + 1}`), 400, 'bad-size');
  });
});

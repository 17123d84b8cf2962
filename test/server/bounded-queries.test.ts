/**
 * Bounded work per request, over HTTP (app.request) against a real ledger on LevelDB: the
 * 20,000-duplicate manifest attack, pages of use and consent lists (`limit`, `after`, `next`),
 * their 400 problems, and event replays read from the index a page at a time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openLedger } from '../../src/ledger/index.js';
import { generatePrivateKey, verifierKeyOf } from '../../src/note/index.js';
import { nodeSigner } from '../../src/platform/node-signer.js';
import { type UseItem, signRecord, toHex, writeManifest } from '../../src/records/index.js';
import { createApp } from '../../src/server/app.js';
import { LevelLogStore } from '../../src/store/index.js';
import { alice, builder1, creator, grant, item, sha256Id, use, verify } from '../records/fixtures.js';
import { tempDir } from '../support/tmp.js';

const ORIGIN = 'test.example/bounded';
const logKey = generatePrivateKey(ORIGIN);

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function setup() {
  const { dir, cleanup } = await tempDir('pvl-bounded-');
  const store = await LevelLogStore.open(dir);
  const ledger = await openLedger({ store, origin: ORIGIN, signer: nodeSigner(logKey), integrateIntervalMs: 5 });
  const shutdown = new AbortController();
  const app = createApp({ ledger, log: ledger.log, vkey: verifierKeyOf(logKey), shutdown: shutdown.signal, keepaliveMs: 60_000 });
  cleanups.push(cleanup, async () => {
    shutdown.abort();
    await ledger.close();
  });
  const submit = async (payloads: Array<Parameters<typeof signRecord>[0]>, who: typeof alice) => {
    const body = `[${payloads.map((p) => Buffer.from(signRecord(p, who.signer, { verify })).toString()).join(',')}]`;
    const res = await app.request('/records?wait=checkpoint', { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
    expect(res.status).toBe(201);
    const { results } = (await res.json()) as { results: Array<{ index: number }> };
    // Queries answer what is indexed; indexing follows the checkpoint.
    while (ledger.indexedSize <= results[results.length - 1].index) await new Promise((r) => setTimeout(r, 2));
    return results;
  };
  const get = async <T>(path: string): Promise<{ status: number; body: T; bytes: number }> => {
    const res = await app.request(path);
    const text = await res.text();
    return { status: res.status, body: JSON.parse(text) as T, bytes: Buffer.byteLength(text) };
  };
  return { app, ledger, submit, get };
}

type UsesAnswer = { uses: Array<{ useIndex: number; position: number }>; next: string | null };

/** Reads SSE events until `count` arrived. */
async function readEvents(res: Response, count: number): Promise<string[]> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const ids: string[] = [];
  while (ids.length < count) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = text.indexOf('\n\n')) >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      const id = /^id: (.*)$/m.exec(block);
      if (id && /^event: use$/m.test(block)) ids.push(id[1]);
    }
  }
  await reader.cancel();
  return ids;
}

async function expectProblem(res: Response, code: string, field: string): Promise<void> {
  expect(res.status).toBe(400);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(await res.json()).toMatchObject({ code, field });
}

describe('the 20,000-duplicate manifest', () => {
  it('is one use of the work: small, fast answers for the work and its creator, and one replayed event', async () => {
    const { app, submit, get } = await setup();
    const W = sha256Id('the attacked work');
    const [, g] = await submit([creator(alice), grant(alice, [[W]])], alice);
    const items: UseItem[] = Array.from({ length: 20_000 }, () => item(W, { index: g.index }));
    const parts: Uint8Array[] = [];
    const summary = await writeManifest(items, items.length, (c) => void parts.push(c.slice()));
    const root = toHex(summary.root);
    const uploaded = await app.request(`/manifests?root=${root}&count=${items.length}`, { method: 'POST', body: new Blob([Buffer.concat(parts)]), headers: { 'Content-Type': 'application/octet-stream' } });
    expect(uploaded.status).toBe(201);
    const [u] = await submit([use(builder1, 'dup@1', [], { items: undefined, manifest: { root, count: items.length } })], builder1);
    const [later] = await submit([use(builder1, 'later@1', [item(W, { index: g.index })])], builder1);

    for (const path of [`/works/${W}/uses`, `/creators/${alice.ref}/uses`]) {
      const started = performance.now();
      const answer = await get<UsesAnswer>(path);
      const ms = performance.now() - started;
      expect(answer.status).toBe(200);
      expect(answer.body.uses.map((x) => `${x.useIndex}.${x.position}`)).toEqual([`${u.index}.0`, `${later.index}.0`]);
      expect(answer.body.next).toBeNull();
      // Before: 57 MB in 17–63 s.
      expect(answer.bytes).toBeLessThan(64 * 1024);
      expect(ms).toBeLessThan(3000);
    }
    const replay = await app.request(`/events?creator=${alice.ref}`, { headers: { 'Last-Event-ID': '0.0' } });
    expect(await readEvents(replay, 2)).toEqual([`${u.index}.0`, `${later.index}.0`]);
  });
});

describe('pages', () => {
  it('walk a use list with limit, after and next; the pages add up to the whole list', async () => {
    const { submit, get } = await setup();
    const W = sha256Id('paged work');
    const [g] = await submit([grant(alice, [[W]])], alice);
    const uses = await submit(Array.from({ length: 5 }, (_, i) => use(builder1, `m@${i}`, [item(sha256Id(`x${i}`), { none: true }), item(W, { index: g.index })])), builder1);
    const all = uses.map((r) => `${r.index}.1`);
    for (const base of [`/works/${W}/uses`, `/creators/${alice.ref}/uses`]) {
      const whole = await get<UsesAnswer>(`${base}?limit=1000`);
      expect(whole.body.uses.map((x) => `${x.useIndex}.${x.position}`)).toEqual(all);
      const pages: string[][] = [];
      for (let after: string | null = null; ; ) {
        const page: { body: UsesAnswer } = await get<UsesAnswer>(`${base}?limit=2${after ? `&after=${after}` : ''}`);
        pages.push(page.body.uses.map((x) => `${x.useIndex}.${x.position}`));
        if (page.body.next === null) break;
        expect(page.body.next).toBe(pages[pages.length - 1][1]);
        after = page.body.next;
      }
      expect(pages).toEqual([all.slice(0, 2), all.slice(2, 4), all.slice(4)]);
      // The default page is 100 items.
      expect((await get<UsesAnswer>(base)).body.uses).toHaveLength(5);
    }
    const creator = await get<{ works: string[]; worksTruncated: boolean; nearCopiesTruncated: boolean; lineageTruncated: boolean }>(`/creators/${alice.ref}/uses`);
    expect(creator.body).toMatchObject({ works: [W], worksTruncated: false, nearCopiesTruncated: false, lineageTruncated: false });
  });

  it('walk a work’s consents by grant index', async () => {
    const { submit, get } = await setup();
    const W = sha256Id('consented often');
    const grants = await submit(Array.from({ length: 3 }, (_, i) => grant(alice, [[W], [sha256Id(`w${i}`)]])), alice);
    const first = await get<{ consents: Array<{ index: number }>; next: string | null }>(`/works/${W}/consents?limit=2`);
    expect(first.body.consents.map((c) => c.index)).toEqual([grants[0].index, grants[1].index]);
    expect(first.body.next).toBe(String(grants[1].index));
    const second = await get<{ consents: Array<{ index: number }>; next: string | null }>(`/works/${W}/consents?limit=2&after=${first.body.next}`);
    expect(second.body.consents.map((c) => c.index)).toEqual([grants[2].index]);
    expect(second.body.next).toBeNull();
  });

  it('refuse a bad limit or cursor with 400 bad-parameter naming it', async () => {
    const { app } = await setup();
    const W = sha256Id('w');
    for (const limit of ['0', '1001', '-1', '1e3', '01', 'ten', '']) {
      await expectProblem(await app.request(`/works/${W}/uses?limit=${limit}`), 'bad-parameter', 'limit');
      await expectProblem(await app.request(`/creators/${alice.ref}/uses?limit=${limit}`), 'bad-parameter', 'limit');
      await expectProblem(await app.request(`/works/${W}/consents?limit=${limit}`), 'bad-parameter', 'limit');
    }
    for (const after of ['1', '1.', '.1', '1.x', '01.0', '1.0.0', '99999999999999999.0']) {
      await expectProblem(await app.request(`/works/${W}/uses?after=${after}`), 'bad-parameter', 'after');
      await expectProblem(await app.request(`/creators/${alice.ref}/uses?after=${after}`), 'bad-parameter', 'after');
    }
    await expectProblem(await app.request(`/works/${W}/consents?after=1.0`), 'bad-parameter', 'after');
    expect((await app.request(`/works/${W}/uses?limit=1000&after=0.0`)).status).toBe(200);
    const openapi = (await (await app.request('/openapi.json')).json()) as { paths: Record<string, { get: { parameters: Array<{ name: string }> } }> };
    for (const path of ['/works/{id}/uses', '/creators/{key}/uses', '/works/{id}/consents']) {
      expect(openapi.paths[path].get.parameters.map((p) => p.name)).toEqual(expect.arrayContaining(['limit', 'after']));
    }
  });
});

describe('event replays', () => {
  it('replay every later use in order, read from the index a page at a time', async () => {
    const { app, submit } = await setup();
    const W = sha256Id('replayed');
    const [g] = await submit([grant(alice, [[W]])], alice);
    // More than a replay page (100 items).
    const uses = await submit(Array.from({ length: 250 }, (_, i) => use(builder1, `r@${i}`, [item(W, { index: g.index })])), builder1);
    const ids = uses.map((u) => `${u.index}.0`);
    const fromStart = await app.request(`/events?creator=${alice.ref}`, { headers: { 'Last-Event-ID': '0.0' } });
    expect(await readEvents(fromStart, 250)).toEqual(ids);
    const fromMiddle = await app.request(`/events?work=${W}`, { headers: { 'Last-Event-ID': ids[149] } });
    expect(await readEvents(fromMiddle, 100)).toEqual(ids.slice(150));
  });
});

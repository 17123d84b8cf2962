/**
 * Key lifecycle and privacy against a real server (spec/policy.md §2 "Key lifecycle", spec/records.md
 * §2.1): a stolen current key cannot take an identity that committed to its next key, and the
 * refusal changes nothing; the committed key rotates without the old one and declares the
 * compromise, which voids the thief's grant and flags a compromised builder's uses — also after
 * a restart, from the facts the server stored; e-mail addresses are committed to, salted.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { getRequestListener } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger } from '../../src/ledger/index.js';
import { generatePrivateKey, verifierKeyOf } from '../../src/note/index.js';
import { nodeSigner } from '../../src/platform/node-signer.js';
import { type CreatorRecord, type RecordPayload, signKeyRotation, signRecord } from '../../src/records/index.js';
import { createApp } from '../../src/server/app.js';
import { LevelLogStore } from '../../src/store/index.js';
import { type TestKey, alice, builder1, creator, grant, item, sha256Id, testKey, use, verify } from '../records/fixtures.js';
import { tempDir } from '../support/tmp.js';

const ORIGIN = 'test.example/key-lifecycle';
const logKey = generatePrivateKey(ORIGIN);
const VKEY = verifierKeyOf(logKey);
const aliceNext = testKey('server alice next');
const aliceNextNext = testKey('server alice next next');
const thief = testKey('server thief');
const builderNext = testKey('server builder next');
const W = sha256Id('key lifecycle: alice work');
const W_STOLEN = sha256Id('key lifecycle: granted by the thief');

/** spec/records.md §2.1, computed here without the code under test. */
const committed = (k: TestKey) => createHash('sha256').update(Buffer.from(k.ref.slice('ed25519:'.length), 'hex')).digest('hex');

let dir: string;
let cleanup: () => Promise<void>;
let store: LevelLogStore;
let ledger: Awaited<ReturnType<typeof openLedger>>;
let server: Server;
let url: string;

async function start(): Promise<void> {
  store = await LevelLogStore.open(join(dir, 'store'));
  ledger = await openLedger({ store, origin: ORIGIN, signer: nodeSigner(logKey), integrateIntervalMs: 5 });
  const app = createApp({ ledger, log: ledger.log, vkey: VKEY, keepaliveMs: 60_000 });
  server = createServer(getRequestListener(app.fetch));
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function stop(): Promise<void> {
  server?.closeAllConnections();
  await new Promise<void>((ok) => (server ? server.close(() => ok()) : ok()));
  await ledger?.close();
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('pvl-key-lifecycle-'));
  await start();
}, 20_000);

afterAll(async () => {
  await stop();
  await cleanup?.();
});

async function submit(payload: RecordPayload, key: TestKey): Promise<{ status: number; body: Record<string, unknown> }> {
  const entry = signRecord(payload, key.signer, { verify });
  const res = await fetch(`${url}/records?wait=checkpoint`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: new TextDecoder().decode(entry) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function logged(payload: RecordPayload, key: TestKey): Promise<number> {
  const { status, body } = await submit(payload, key);
  expect({ status, detail: body.detail }).toEqual({ status: 201, detail: undefined });
  return body.index as number;
}

/** The verdicts of a work's uses, once the server has indexed the whole log. */
async function verdictsOf(work: string): Promise<Array<{ useIndex: number; verdict: Record<string, unknown> }>> {
  while (ledger.indexedSize < ledger.log.sequencedSize) await new Promise((r) => setTimeout(r, 5));
  const res = await fetch(`${url}/works/${work}/uses`);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { uses: Array<{ useIndex: number; verdict: Record<string, unknown> }> };
  return body.uses.map(({ useIndex, verdict }) => ({ useIndex, verdict }));
}

/** Every key and value of the store, hashed: what "changes nothing" is measured by. */
async function storeDigest(): Promise<string> {
  const h = createHash('sha256');
  for await (const [k, v] of store.raw.iterator()) h.update(`${k.length}:`).update(k).update(`${v.length}:`).update(v);
  return h.digest('hex');
}

/** The digest once background work (indexing, the /stats follower, flushes) has settled: the store held still for 100 ms. */
async function settledDigest(): Promise<string> {
  for (;;) {
    const stats = await ledger.stats();
    if (ledger.indexedSize === ledger.log.sequencedSize && stats.judged === stats.indexed && stats.indexed === ledger.indexedSize) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  let digest = await storeDigest();
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    const again = await storeDigest();
    if (again === digest) return digest;
    digest = again;
  }
}

const preRotation = (from: TestKey, to: TestKey, next: TestKey, extra: Partial<CreatorRecord> = {}): CreatorRecord => ({ ...creator(to), rotation: { from: from.ref }, next: committed(next), ...extra });

describe('pre-rotation and compromise on a live server', () => {
  let aliceGrant: number;
  let stolenGrant: number;
  let stolenUse: number;
  let forgedUse: number;
  let aliceDeclaration: number;
  let builderDeclaration: number;

  it('refuses a rotation by a stolen current key, naming the mismatch, and changes nothing', async () => {
    await logged(creator(alice, { next: committed(aliceNext) }), alice);
    const before = await settledDigest();
    const checkpoint = await (await fetch(`${url}/checkpoint`)).text();
    const takeover: CreatorRecord = { ...creator(thief), rotation: signKeyRotation(alice.signer, alice.ref, thief.ref), next: committed(testKey('thief next')) };
    const { status, body } = await submit(takeover, thief);
    expect(status).toBe(400);
    expect(body.code).toBe('not-admissible');
    expect(body.field).toBe('[0].payload.author');
    expect(body.detail).toContain(`${alice.ref} committed to the next key with SHA-256 ${committed(aliceNext)}, but the author ${thief.ref} has SHA-256 ${committed(thief)}`);
    expect(await settledDigest()).toBe(before);
    expect(await (await fetch(`${url}/checkpoint`)).text()).toBe(checkpoint);
  });

  it('voids the thief\'s grant once the committed key declares the compromise', async () => {
    aliceGrant = await logged(grant(alice, [[W]]), alice);
    stolenGrant = await logged(grant(alice, [[W_STOLEN]]), alice); // signed by the thief, with alice's key
    stolenUse = await logged(use(builder1, 'm@1', [item(W_STOLEN, { index: stolenGrant })]), builder1);
    expect((await verdictsOf(W_STOLEN)).map((u) => u.verdict.verdict)).toEqual(['consented']);
    // The committed key rotates without the old key's signature (the old key is the thief's now).
    aliceDeclaration = await logged(preRotation(alice, aliceNext, aliceNextNext, { compromised: { since: stolenGrant } }), aliceNext);
    const [judged] = await verdictsOf(W_STOLEN);
    expect(judged.useIndex).toBe(stolenUse);
    expect(judged.verdict.verdict).toBe('wrong-author');
    expect(judged.verdict.reason).toContain(`declared compromised from index ${stolenGrant} by the rotation to its committed next key ${aliceNext.ref} at index ${aliceDeclaration}`);
    const consents = (await (await fetch(`${url}/works/${W_STOLEN}/consents`)).json()) as { consents: Array<{ index: number; status: string }> };
    expect(consents.consents.map(({ index, status }) => ({ index, status }))).toEqual([{ index: stolenGrant, status: 'void' }]);
  });

  it('refuses a compromise reaching past the log', async () => {
    const size = ledger.log.sequencedSize;
    const { status, body } = await submit(preRotation(aliceNext, aliceNextNext, testKey('far future'), { compromised: { since: size + 5 } }), aliceNextNext);
    expect({ status, code: body.code, field: body.field }).toEqual({ status: 400, code: 'not-admissible', field: '[0].payload.compromised.since' });
    expect(ledger.log.sequencedSize).toBe(size);
  });

  it('flags the uses a compromised builder key declared', async () => {
    await logged(creator(builder1, { next: committed(builderNext) }), builder1);
    forgedUse = await logged(use(builder1, 'm@2', [item(W, { index: aliceGrant })]), builder1);
    builderDeclaration = await logged(preRotation(builder1, builderNext, testKey('server builder next next'), { compromised: { since: forgedUse } }), builderNext);
    const forged = (await verdictsOf(W)).find((u) => u.useIndex === forgedUse)!;
    expect(forged.verdict.compromisedKey).toEqual({ key: builder1.ref, since: forgedUse, recordIndex: builderDeclaration });
  });

  it('keeps commitments and compromises across a restart (stored facts)', async () => {
    await stop();
    await start();
    const [judged] = await verdictsOf(W_STOLEN);
    expect(judged.verdict.verdict).toBe('wrong-author');
    const forged = (await verdictsOf(W)).find((u) => u.useIndex === forgedUse)!;
    expect(forged.verdict.compromisedKey).toEqual({ key: builder1.ref, since: forgedUse, recordIndex: builderDeclaration });
    // The commitment alice-next made in its rotation still decides who may rotate it.
    const { status, body } = await submit({ ...creator(thief), rotation: { from: aliceNext.ref }, next: committed(testKey('thief next')) }, thief);
    expect({ status, field: body.field }).toEqual({ status: 400, field: '[0].payload.author' });
  }, 20_000);
});

describe('e-mail addresses on a live server', () => {
  it('refuses the unsalted emailSha256 with a reason and what to use, and accepts emailCommitment', async () => {
    const key = testKey('server email creator');
    const size = ledger.log.sequencedSize;
    const unsalted = createHash('sha256').update('alice@example.org').digest('hex');
    const { status, body } = await submit(creator(key, { claims: { emailSha256: unsalted } }), key);
    expect({ status, code: body.code, field: body.field }).toEqual({ status: 400, code: 'not-admissible', field: '[0].payload.claims.emailSha256' });
    expect(body.detail).toMatch(/unsalted .* reverse .* claims\.emailCommitment/);
    expect(ledger.log.sequencedSize).toBe(size);
    const salt = '0123456789abcdef0123456789abcdef';
    const commitment = createHash('sha256').update(`pvl-email-commitment-v1\n${salt}\nalice@example.org`).digest('hex');
    const { name: _, ...nameless } = creator(key, { claims: { emailCommitment: commitment } });
    await logged(nameless, key);
  });
});

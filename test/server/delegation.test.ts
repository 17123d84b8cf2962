/**
 * Rights holders and agents, dispute rulings and claim notices against a real server
 * (spec/policy.md §2 "Delegation" and "Rulings", spec/api.md "Notifications"): an agent's grant on
 * a creator's behalf is admitted under a delegation and its verdicts name the agent; without one,
 * or once it is revoked — also after a restart, from the delegations the server stored — it is
 * refused and the log is unchanged; rulings are listed with the work's consents; a creator whose
 * work another key claims gets a `claim` event.
 */
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger } from '../../src/ledger/index.js';
import { generatePrivateKey, verifierKeyOf } from '../../src/note/index.js';
import { nodeSigner } from '../../src/platform/node-signer.js';
import { type DelegationRecord, type RecordPayload, signRecord } from '../../src/records/index.js';
import { createApp } from '../../src/server/app.js';
import { LevelLogStore } from '../../src/store/index.js';
import { type TestKey, T0, alice, bob, builder1, grant, item, sha256Id, testKey, use, verify } from '../records/fixtures.js';
import { tempDir } from '../support/tmp.js';

const ORIGIN = 'test.example/delegation';
const logKey = generatePrivateKey(ORIGIN);
const VKEY = verifierKeyOf(logKey);
const publisher = testKey('server publisher');
const society = testKey('server society');
const W = sha256Id('delegation server: alice work');
const W_OUTSIDE = sha256Id('delegation server: not delegated');
const W_LATER = sha256Id('delegation server: after the end');

let dir: string;
let cleanup: () => Promise<void>;
let ledger: Awaited<ReturnType<typeof openLedger>>;
let server: Server;
let url: string;

async function start(): Promise<void> {
  const store = await LevelLogStore.open(join(dir, 'store'));
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
  ({ dir, cleanup } = await tempDir('pvl-delegation-'));
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

/** Submits a record the server must refuse; the log's size must not change. */
async function refused(payload: RecordPayload, key: TestKey): Promise<{ field: unknown; detail: unknown }> {
  const size = ledger.log.sequencedSize;
  const { status, body } = await submit(payload, key);
  expect({ status, code: body.code }).toEqual({ status: 400, code: 'not-admissible' });
  expect(ledger.log.sequencedSize).toBe(size);
  return { field: body.field, detail: body.detail };
}

async function indexed(): Promise<void> {
  while (ledger.indexedSize < ledger.log.sequencedSize) await new Promise((r) => setTimeout(r, 5));
}

async function getJson<T>(path: string): Promise<T> {
  await indexed();
  const res = await fetch(url + path);
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

const delegation = (extra: Partial<DelegationRecord> = {}): DelegationRecord => ({ type: 'delegation', v: 1, author: alice.ref, time: T0, agent: publisher.ref, role: 'rights-holder', powers: ['grant', 'revoke'], works: [[W]], ...extra });

describe('a rights holder granting on a creator’s behalf, on a live server', () => {
  let delegationIndex: number;
  let agentGrant: number;

  it('refuses the grant before any delegation, with the reason, and changes nothing', async () => {
    const { field, detail } = await refused(grant(publisher, [[W]], { onBehalfOf: alice.ref }), publisher);
    expect(field).toBe('[0].payload.onBehalfOf');
    expect(detail).toContain(`${alice.ref} has delegated nothing to ${publisher.ref}`);
  });

  it('admits it under a delegation: the use is consented and the verdict says who granted', async () => {
    delegationIndex = await logged(delegation(), alice);
    agentGrant = await logged(grant(publisher, [[W]], { onBehalfOf: alice.ref }), publisher);
    const useIndex = await logged(use(builder1, 'm@1', [item(W, { index: agentGrant })]), builder1);
    const { uses } = await getJson<{ uses: Array<{ useIndex: number; verdict: Record<string, unknown> }> }>(`/works/${W}/uses`);
    expect(uses.map((u) => ({ useIndex: u.useIndex, verdict: u.verdict }))).toEqual([{ useIndex, verdict: expect.objectContaining({ verdict: 'consented', consentIndex: agentGrant, grantedBy: { agent: publisher.ref, role: 'rights-holder', delegationIndex } }) }]);
    // The work is the creator's: it is listed under alice, not under the publisher.
    const mine = await getJson<{ works: string[] }>(`/creators/${alice.ref}/uses`);
    expect(mine.works).toEqual([W]);
  });

  it('refuses a grant naming a work the delegation does not cover', async () => {
    const { detail } = await refused(grant(publisher, [[W_OUTSIDE]], { onBehalfOf: alice.ref }), publisher);
    expect(detail).toContain(`delegation ${delegationIndex} from ${alice.ref} does not cover ${W_OUTSIDE}`);
  });

  it('after a restart still knows the delegation; once alice revokes it, new grants are refused and the old one stays', async () => {
    await stop();
    await start();
    const extended = await logged(delegation({ works: 'all' }), alice);
    const end = await logged({ type: 'delegation-revocation', v: 1, author: alice.ref, time: T0, delegation: { index: extended } }, alice);
    await logged({ type: 'delegation-revocation', v: 1, author: alice.ref, time: T0, delegation: { index: delegationIndex } }, alice);
    await stop();
    await start();
    const { detail } = await refused(grant(publisher, [[W_LATER]], { onBehalfOf: alice.ref }), publisher);
    expect(detail).toContain(`delegation ${extended} from ${alice.ref} was revoked at index ${end}`);
    const useIndex = await logged(use(builder1, 'm@2', [item(W, { index: agentGrant })]), builder1);
    const { uses } = await getJson<{ uses: Array<{ useIndex: number; verdict: { verdict: string } }> }>(`/works/${W}/uses`);
    expect(uses.find((u) => u.useIndex === useIndex)!.verdict.verdict).toBe('consented');
  });
});

/** Reads SSE events from a response body until `count` events arrived. */
async function readEvents(res: Response, count: number): Promise<Array<{ id?: string; event: string; data: unknown }>> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const events: Array<{ id?: string; event: string; data: unknown }> = [];
  while (events.length < count) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = text.indexOf('\n\n')) >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      const fields = Object.fromEntries(block.split('\n').filter((l) => !l.startsWith(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trimStart()]));
      if (fields.event) events.push({ ...(fields.id !== undefined ? { id: fields.id } : {}), event: fields.event, data: JSON.parse(fields.data) });
    }
  }
  await reader.cancel();
  return events;
}

describe('claims and rulings, on a live server', () => {
  const CONTESTED = sha256Id('delegation server: contested work');
  let own: number;

  it('tells the creator, on /events, that another key claimed their work', async () => {
    own = await logged(grant(alice, [[CONTESTED]]), alice);
    const stream = await fetch(`${url}/events?creator=${alice.ref}`);
    expect(stream.status).toBe(200);
    const events = readEvents(stream, 1);
    const squat = await logged(grant(bob, [[CONTESTED]]), bob);
    expect(await events).toEqual([{ event: 'claim', data: { grantIndex: squat, work: CONTESTED, claimant: bob.ref, author: bob.ref, claimedBy: [alice.ref] } }]);
    expect(squat).toBeGreaterThan(own);
  });

  it('lists a ruling with the work’s consents, and judges by none (the server trusts no attester)', async () => {
    const rulingIndex = await logged({ type: 'dispute-ruling', v: 1, author: society.ref, time: T0, work: [CONTESTED], owner: alice.ref, statement: 'member since 2019' }, society);
    const useIndex = await logged(use(builder1, 'm@3', [item(CONTESTED, { index: own })]), builder1);
    const consents = await getJson<{ rulings?: unknown[] }>(`/works/${CONTESTED}/consents`);
    expect(consents.rulings).toEqual([{ index: rulingIndex, author: society.ref, owner: alice.ref, work: [CONTESTED], statement: 'member since 2019' }]);
    const { uses } = await getJson<{ uses: Array<{ useIndex: number; verdict: { verdict: string } }> }>(`/works/${CONTESTED}/uses`);
    expect(uses.find((u) => u.useIndex === useIndex)!.verdict.verdict).toBe('disputed');
  });
});

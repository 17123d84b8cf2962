/**
 * Domain and profile evidence (spec/policy.md, "Domain and profile evidence") against real HTTP
 * servers on 127.0.0.1: what verifies, and each way it does not (never an exception).
 */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreatorDirectory, EvidenceChecker, WELL_KNOWN_PATH, gatherEvidence, parseTrustPolicy, trustViewOf } from '../../src/identity/index.js';
import { alice, bob, carol } from '../records/fixtures.js';

type Handler = (path: string, respond: (status: number, body: string, headers?: Record<string, string>) => void) => void;

async function serve(handler: Handler): Promise<{ origin: string; server: Server; hits: Map<string, number> }> {
  const hits = new Map<string, number>();
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    handler(path, (status, body, headers = {}) => {
      res.writeHead(status, { 'content-type': 'text/html', ...headers });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, hits };
}

const page = (head: string, body = '') => `<!doctype html><html><head>${head}</head><body>${body}</body></html>`;

let good: Awaited<ReturnType<typeof serve>>;
let wrong: Awaited<ReturnType<typeof serve>>;
let slow: Awaited<ReturnType<typeof serve>>;
let bare: Awaited<ReturnType<typeof serve>>;
const stalled: Array<() => void> = [];

beforeAll(async () => {
  good = await serve((path, respond) => {
    if (path === WELL_KNOWN_PATH) return respond(200, JSON.stringify({ keys: [bob.ref, alice.ref] }), { 'content-type': 'application/json' });
    if (path === '/@alice') return respond(200, page('', `<p>art</p><a rel="me nofollow" href="https://ledger.example/identities/${alice.ref}">my key</a>`));
    if (path === '/meta') return respond(200, page(`<meta name="provenance-ledger" content="${alice.ref}">`));
    if (path === '/link') return respond(200, page(`<link href='https://ledger.example/identities/${alice.ref.replace(':', '%3A')}' rel=me>`));
    if (path === '/no-rel') return respond(200, page('', `<a href="https://ledger.example/identities/${alice.ref}">my key</a>`));
    if (path === '/loop') return respond(302, '', { location: '/loop2' });
    if (path === '/loop2') return respond(302, '', { location: '/loop' });
    if (path === '/moved') return respond(301, '', { location: '/@alice' });
    if (path === '/huge') return respond(200, `<a rel="me" href="${alice.ref}">`.padEnd(2 << 20, ' '));
    respond(404, 'not found');
  });
  wrong = await serve((path, respond) => {
    if (path === WELL_KNOWN_PATH) return respond(200, JSON.stringify({ keys: [bob.ref] }), { 'content-type': 'application/json' });
    respond(404, 'nothing here');
  });
  bare = await serve((_path, respond) => respond(404, 'no such file'));
  slow = await serve((_path, respond) => {
    stalled.push(() => respond(200, JSON.stringify({ keys: [alice.ref] })));
  });
});

afterAll(async () => {
  for (const release of stalled) release();
  for (const s of [good, wrong, slow]) await new Promise((resolve) => s.server.close(resolve));
});

describe('domain evidence', () => {
  it('verifies when the well-known file of the website\'s origin lists one of the keys', async () => {
    const result = await new EvidenceChecker().checkDomain(`${good.origin}/portfolio/index.html`, [alice.ref]);
    expect(result).toMatchObject({ kind: 'domain', verified: true, key: alice.ref, url: `${good.origin}${WELL_KNOWN_PATH}` });
  });

  it('does not verify a file listing other keys', async () => {
    const result = await new EvidenceChecker().checkDomain(wrong.origin, [alice.ref]);
    expect(result.verified).toBe(false);
    expect(result.reason).toMatch(/none of them this identity's/);
  });

  it('does not verify a missing file, or a website that cannot be reached', async () => {
    const checker = new EvidenceChecker();
    const missing = await checker.checkDomain(bare.origin, [alice.ref]);
    expect(missing).toMatchObject({ verified: false, reason: expect.stringMatching(/answered HTTP 404/) });
    const closed = new URL(bare.origin);
    await new Promise((resolve) => bare.server.close(resolve));
    const unreachable = await new EvidenceChecker().checkDomain(`http://127.0.0.1:${closed.port}/other`, [alice.ref]);
    expect(unreachable).toMatchObject({ verified: false, reason: expect.stringMatching(/could not be fetched/) });
  });

  it('gives up on a server that does not answer in time', async () => {
    const result = await new EvidenceChecker({ timeoutMs: 300 }).checkDomain(slow.origin, [alice.ref]);
    expect(result.verified).toBe(false);
    expect(result.reason).toMatch(/did not answer within 0.3 s/);
  });
});

describe('profile evidence', () => {
  const checker = new EvidenceChecker();
  it('verifies an <a rel="me"> link, a <link rel=me> with an escaped key, and the meta tag', async () => {
    for (const path of ['/@alice', '/link', '/meta']) {
      const result = await checker.checkProfile(`${good.origin}${path}`, [alice.ref]);
      expect(result, path).toMatchObject({ kind: 'profile', verified: true, key: alice.ref });
    }
  });

  it('does not verify a link without rel="me", or a page linking another key', async () => {
    expect((await checker.checkProfile(`${good.origin}/no-rel`, [alice.ref])).verified).toBe(false);
    expect((await checker.checkProfile(`${good.origin}/@alice`, [bob.ref])).verified).toBe(false);
  });

  it('follows up to three redirects but not a loop', async () => {
    expect((await checker.checkProfile(`${good.origin}/moved`, [alice.ref])).verified).toBe(true);
    const loop = await checker.checkProfile(`${good.origin}/loop`, [alice.ref]);
    expect(loop.verified).toBe(false);
    expect(loop.reason).toMatch(/more than 3 redirects/);
  });

  it('a missing page, and a page over the size cap, are not verified', async () => {
    const missing = await checker.checkProfile(`${good.origin}/gone`, [alice.ref]);
    expect(missing).toMatchObject({ verified: false, reason: expect.stringMatching(/HTTP 404/) });
    const huge = await checker.checkProfile(`${good.origin}/huge`, [alice.ref]);
    expect(huge).toMatchObject({ verified: false, reason: expect.stringMatching(/more than 1048576 bytes/) });
  });

  it('fetches each URL once per checker', async () => {
    const once = new EvidenceChecker();
    const url = `${good.origin}/meta`;
    const before = good.hits.get('/meta') ?? 0;
    await Promise.all([once.checkProfile(url, [alice.ref]), once.checkProfile(url, [bob.ref])]);
    expect(good.hits.get('/meta')).toBe(before + 1);
  });
});

describe('evidence for identities, as pvl audit --trust gathers it', () => {
  it('checks what the policy asks for and backs identities by a domain before a profile', async () => {
    const creators = new CreatorDirectory();
    creators.add(0, { type: 'creator', v: 1, author: alice.ref, time: '2026-01-01T00:00:00Z', name: 'Alice', claims: { website: `${good.origin}/`, profiles: [`${good.origin}/meta`] } });
    creators.add(1, { type: 'creator', v: 1, author: carol.ref, time: '2026-01-01T00:00:00Z', name: 'Carol', claims: { website: wrong.origin, profiles: [`${good.origin}/no-rel`, `${good.origin}/@alice`] } });
    const subjects = [alice.ref, carol.ref].map((key) => ({ identity: key, keys: [key], claims: creators.claimsOf([key])! }));
    const profilesOnly = parseTrustPolicy('check profiles\n');
    const reports = await gatherEvidence(subjects, profilesOnly, new EvidenceChecker());
    expect(reports.map((r) => [r.name, r.results.map((e) => [e.kind, e.verified])])).toEqual([
      ['Alice', [['profile', true]]],
      ['Carol', [['profile', false], ['profile', false]]],
    ]);
    const both = parseTrustPolicy('check domains\ncheck profiles\n');
    const view = trustViewOf(both, await gatherEvidence(subjects, both, new EvidenceChecker()));
    expect([...view.backed]).toEqual([alice.ref]);
    expect(view.evidence.get(alice.ref)).toEqual({ kind: 'domain', url: `${good.origin}${WELL_KNOWN_PATH}` });
  });
});

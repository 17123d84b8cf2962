/**
 * Identities a verifier checks itself (spec/policy.md, "Trust policy", "Identity levels") end to
 * end: a real `pvl serve`, real HTTP servers on 127.0.0.1 for the artists' websites, the CLI
 * (needs `npm run build`). A squatter grants consent for an artist's work; the verifier's trust
 * policy decides who is behind each grant.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/tmp.js';
import { startPvlServe } from '../support/pvl-serve.js';

const MAIN = resolve('dist/src/cli/main.js');
const run = promisify(execFile);
let dir: string;
let cleanup: () => Promise<void>;
let ledger: ChildProcess;
let url: string;
let website: Server;
let site: string;
/** What the artists' website lists in its well-known file (set once the keys exist). */
let listedKeys: string[] = [];

async function pvl(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run('node', [MAIN, ...args], { cwd: dir });
    return { stdout, stderr, code: 0 };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; code: number };
    return { stdout: err.stdout, stderr: err.stderr, code: err.code };
  }
}
async function json(...args: string[]) {
  const r = await pvl(...args, '--json');
  // Notes (records are public and permanent) are not errors.
  expect(r.stderr.split('\n').filter((l) => l.startsWith('pvl:') && !l.startsWith('pvl: note:'))).toEqual([]);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}
const sha256Id = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('pvl-identities-'));
  website = createServer((req, res) => {
    if (req.url === '/.well-known/provenance-ledger.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ keys: listedKeys }));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((ok) => website.listen(0, '127.0.0.1', ok));
  site = `http://127.0.0.1:${(website.address() as AddressInfo).port}/`;
  ({ server: ledger, url } = await startPvlServe(dir));
}, 20000);

afterAll(async () => {
  ledger?.kill('SIGTERM');
  await new Promise((ok) => website?.close(ok));
  await cleanup?.();
});

describe('a squatter against a verifier with a trust policy', () => {
  it('attestation precedence, domain evidence, revocation and compromisedSince', async () => {
    const keys: Record<string, string> = {};
    for (const name of ['artist', 'squatter', 'builder', 'society', 'stranger', 'painter', 'copycat']) keys[name] = (await json('keygen', '--name', name, '--out', `${name}.key`)).keyRef;
    listedKeys = [keys.painter];
    const server = ['--server', url, '--vkey', 'log.vkey'];
    const w = sha256Id('the artist\'s drawing');
    const painting = sha256Id('the painter\'s painting');
    const grantIt = async (who: string, work: string) => (await json('consent', 'grant', ...server, '--key', `${who}.key`, '--work', work, '--allow', 'ai_training')).index as number;
    const declare = async (work: string, grant: number, file: string) => {
      await writeFile(join(dir, file), `work,consent\n${work},${grant}\n`);
      return (await json('use', 'declare', ...server, '--key', 'builder.key', '--model', 'm@1', '--items', file)).index as number;
    };

    // The squatter consents for the artist's drawing before the artist is in the log.
    const squatted = await grantIt('squatter', w);
    await declare(w, squatted, 'u1.csv');
    // The artist appears: a grant, and an attestation by a collecting society. A stranger attests the squatter.
    await json('creator', 'register', ...server, '--key', 'artist.key', '--name', 'Artist');
    const own = await grantIt('artist', w);
    const attested = (await json('attest', ...server, '--key', 'society.key', '--subject', keys.artist, '--name', 'Artist (member 1234)', '--role', 'creator', '--id', 'https://society.example/members/1234')).index as number;
    await json('attest', ...server, '--key', 'stranger.key', '--subject', keys.squatter, '--name', 'Artist', '--role', 'creator');
    await declare(w, squatted, 'u2.csv');
    await declare(w, own, 'u3.csv');
    // Domain evidence: the painter's website lists the painter's key; the copycat claims the same website.
    await json('creator', 'register', ...server, '--key', 'painter.key', '--name', 'Painter', '--url', site);
    await json('creator', 'register', ...server, '--key', 'copycat.key', '--name', 'Painter', '--url', site);
    const copied = await grantIt('copycat', painting);
    const painted = await grantIt('painter', painting);
    await declare(painting, copied, 'u4.csv');
    await declare(painting, painted, 'u5.csv');

    await writeFile(join(dir, 'trust.txt'), `# my verifier\nattester "Collecting Society" ${keys.society}\ncheck domains\n`);
    const plain = await json('audit', ...server);
    expect(plain.verdicts).toEqual({ consented: 1, disputed: 4 });
    expect(plain.identities).toBeUndefined();
    const trusted = await json('audit', ...server, '--trust', 'trust.txt');
    // u1: only the squatter claimed the drawing then → consented, but by an unverified key;
    // u2, u4: the backed claimant takes precedence → wrong-author; u3 attested, u5 domain.
    expect(trusted.verdicts).toEqual({ 'consented-unverified': 1, 'wrong-author': 2, consented: 2 });
    expect(trusted.identities.consented).toEqual({ attested: 1, domain: 1, profile: 0, unverified: 1 });
    const evidence = trusted.identities.evidence.flatMap((r: { identity: string; results: Array<{ verified: boolean }> }) => r.results.map((e) => [r.identity, e.verified]));
    expect(evidence).toEqual(expect.arrayContaining([[keys.painter, true], [keys.copycat, false]]));
    const table = await pvl('audit', ...server, '--trust', 'trust.txt');
    expect(table.stdout).toMatch(/consented & attested\s+1/);
    expect(table.stdout).toMatch(/consented & unverified\s+1/);
    expect(table.stdout).toMatch(/consented-unverified\s+1/);

    // The server's claim about the artist: creator record, attestations with their indexes.
    const identity = await (await fetch(`${url}/identities/${keys.artist}`)).json();
    expect(identity).toMatchObject({ key: keys.artist, identity: keys.artist, creator: { name: 'Artist' }, attestations: [{ index: attested, attester: keys.society, name: 'Artist (member 1234)', role: 'creator' }] });
    expect(identity.claim).toMatch(/claim/);
    expect((await fetch(`${url}/identities/${'ed25519:' + '0'.repeat(64)}`)).status).toBe(404);
    expect((await fetch(`${url}/identities/not-a-key`)).status).toBe(400);

    // watch and verify say who is behind each consent, proving the records they rely on.
    const watched = await pvl('watch', ...server, '--creator', 'artist.key', '--state', 'artist-watch.json', '--once', '--json', '--trust', 'trust.txt');
    expect(watched.code).toBe(0);
    const lines = watched.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.serverVerdict.consentIndex, l.consentBy.level, l.consentBy.key])).toEqual([
      [squatted, 'unverified', keys.squatter],
      [squatted, 'unverified', keys.squatter],
      [own, 'attested', keys.artist],
    ]);
    expect(lines[2].consentBy).toMatchObject({ by: keys.society, name: 'Artist (member 1234)' });
    const painterWatch = await pvl('watch', ...server, '--creator', 'painter.key', '--state', 'painter-watch.json', '--once', '--trust', 'trust.txt');
    expect(painterWatch.stdout).toMatch(new RegExp(`consent by: unverified key ${keys.copycat}`));
    expect(painterWatch.stdout).toMatch(/consent by: Painter \(domain evidence checked here: http:\/\/127\.0\.0\.1:\d+\/\.well-known\/provenance-ledger\.json/);
    const artistUses = await (await fetch(`${url}/creators/${keys.artist}/uses`)).json();
    const ownUse = artistUses.uses.find((u: { verdict: { consentIndex?: number } }) => u.verdict.consentIndex === own);
    await writeFile(join(dir, 'own-bundle.json'), JSON.stringify(ownUse.bundle));
    const verified = await json('verify', 'own-bundle.json', '--vkey', 'log.vkey', '--trust', 'trust.txt', '--server', url);
    expect(verified.consentBy).toMatchObject({ key: keys.artist, level: 'attested', by: keys.society });
    const verifiedText = await pvl('verify', 'own-bundle.json', '--vkey', 'log.vkey', '--trust', 'trust.txt', '--server', url);
    expect(verifiedText.stdout).toMatch(/consent by: Artist \(member 1234\) \(attested by Collecting Society; revocations as the server reports them/);

    // Only the attester can revoke; then the key is declared compromised from a later grant on.
    const byStranger = await pvl('attest', 'revoke', ...server, '--key', 'stranger.key', '--attestation', String(attested));
    expect(byStranger.code).toBe(1);
    expect(byStranger.stderr).toMatch(/^pvl: .*only its attester can revoke it\n$/);
    const stolen = await grantIt('artist', sha256Id('another drawing'));
    await json('attest', 'revoke', ...server, '--key', 'society.key', '--attestation', String(attested), '--compromised-since', String(stolen), '--reason', 'key stolen');
    const again = await pvl('attest', 'revoke', ...server, '--key', 'society.key', '--attestation', String(attested));
    expect(again.stderr).toMatch(/already revoked/);
    await declare(sha256Id('another drawing'), stolen, 'u6.csv');
    await declare(w, own, 'u7.csv');
    const after = await json('audit', ...server, '--trust', 'trust.txt');
    // u6: the stolen key's grant is void for this verifier; u7: the artist is no longer attested, so disputed again.
    expect(after.verdicts).toEqual({ 'consented-unverified': 1, 'wrong-author': 3, consented: 2, disputed: 1 });
    const revoked = await (await fetch(`${url}/identities/${keys.artist}`)).json();
    expect(revoked.attestations[0].revocation).toMatchObject({ compromisedSince: stolen, reason: 'key stolen' });
  }, 120000);

  it('a malformed trust policy is a usage error naming the line', async () => {
    await writeFile(join(dir, 'bad-trust.txt'), '# policy\nattester "Society ed25519:abc\n');
    const r = await pvl('audit', '--server', url, '--vkey', 'log.vkey', '--trust', 'bad-trust.txt');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('pvl: --trust bad-trust.txt: line 2: a quoted name is not closed\n');
  });
});

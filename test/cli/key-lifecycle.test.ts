/**
 * Key lifecycle and privacy through the CLI, against a real `pvl serve` process (needs `npm run
 * build`): keygen writes the next key, register commits to it and to a salted e-mail address,
 * a stolen key cannot rotate, the committed key rotates and declares the compromise. The
 * commitments are recomputed here with node:crypto, from spec/records.md §2.1.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/tmp.js';
import { startPvlServe } from '../support/pvl-serve.js';

const MAIN = resolve('dist/src/cli/main.js');
const run = promisify(execFile);
let dir: string;
let cleanup: () => Promise<void>;
let server: ChildProcess;
let url: string;

async function pvl(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run('node', [MAIN, ...args], { cwd: dir });
    return { stdout, stderr, code: 0 };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; code: number };
    return { stdout: err.stdout, stderr: err.stderr, code: err.code };
  }
}
const pvlLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('pvl:'));
const notes = (stderr: string) => pvlLines(stderr).filter((l) => l.startsWith('pvl: note:'));
const errors = (stderr: string) => pvlLines(stderr).filter((l) => !l.startsWith('pvl: note:'));

async function json(...args: string[]): Promise<Record<string, any>> {
  const r = await pvl(...args, '--json');
  expect({ errors: errors(r.stderr), code: r.code }).toEqual({ errors: [], code: 0 });
  return JSON.parse(r.stdout);
}

const committed = (keyRef: string) => createHash('sha256').update(Buffer.from(keyRef.slice('ed25519:'.length), 'hex')).digest('hex');
const entry = async (index: number) => ((await (await fetch(`${url}/entries/${index}`)).json()) as { record: Record<string, any> }).record;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('pvl-cli-keys-'));
  ({ server, url } = await startPvlServe(dir));
}, 20000);

afterAll(async () => {
  server?.kill('SIGTERM');
  await cleanup?.();
});

describe('pvl key lifecycle', () => {
  it('keygen --next → register --next-key --email → a stolen key cannot rotate → rotate --from --compromised-since', async () => {
    const on = ['--server', url, '--vkey', 'log.vkey'];
    const alice = await json('keygen', '--name', 'alice', '--out', 'alice.key', '--next', 'alice-next.key');
    expect(alice.next.keyRef).toMatch(/^ed25519:[0-9a-f]{64}$/);
    expect(alice.next.keyRef).not.toBe(alice.keyRef);
    expect(alice.next.commitment).toBe(committed(alice.next.keyRef));
    expect((await stat(join(dir, 'alice-next.key'))).mode & 0o777).toBe(0o600);
    const overwrite = await pvl('keygen', '--name', 'x', '--out', 'fresh.key', '--next', 'alice-next.key');
    expect({ code: overwrite.code, errors: errors(overwrite.stderr).length }).toEqual({ code: 2, errors: 1 });

    // Register: the note says what is published, before signing; the salt is shown once.
    const registered = await pvl('creator', 'register', ...on, '--key', 'alice.key', '--next-key', 'alice-next.key', '--email', ' Alice@Example.ORG ', '--json');
    expect(registered.code).toBe(0);
    expect(notes(registered.stderr)).toEqual([expect.stringMatching(/^pvl: note: log records are public and permanent; this creator record publishes your key .*a salted e-mail commitment \(not the address\), a hash of your next key$/)]);
    const reg = JSON.parse(registered.stdout);
    expect(reg.emailSalt).toMatch(/^[0-9a-f]{32}$/);
    const record = await entry(reg.index);
    expect(record.name).toBeUndefined();
    expect(record.next).toBe(alice.next.commitment);
    expect(record.claims.emailCommitment).toBe(createHash('sha256').update(`pvl-email-commitment-v1\n${reg.emailSalt}\nalice@example.org`).digest('hex'));
    expect(JSON.stringify(record)).not.toMatch(/alice@example/i);

    // Whoever is told the address and salt can check them.
    expect((await json('creator', 'check-email', '--email', 'alice@example.org', '--salt', reg.emailSalt, '--commitment', record.claims.emailCommitment)).matches).toBe(true);
    const wrong = await pvl('creator', 'check-email', '--email', 'bob@example.org', '--salt', reg.emailSalt, '--commitment', record.claims.emailCommitment);
    expect({ code: wrong.code, errors: errors(wrong.stderr) }).toEqual({ code: 1, errors: [expect.stringMatching(/do not match commitment/)] });

    // The thief holds alice.key, but not the key it committed to.
    const grant = await json('consent', 'grant', ...on, '--key', 'alice.key', '--work', `sha256:${'ab'.repeat(32)}`, '--allow', 'ai_training');
    await json('keygen', '--name', 'thief', '--out', 'thief.key', '--next', 'thief-next.key');
    const theft = await pvl('creator', 'rotate', ...on, '--key', 'alice.key', '--new-key', 'thief.key', '--next-key', 'thief-next.key');
    expect(theft.code).toBe(1);
    expect(errors(theft.stderr)).toEqual([expect.stringMatching(/^pvl: .*committed to the next key with SHA-256 [0-9a-f]{64}, but the author ed25519:[0-9a-f]{64} has SHA-256 [0-9a-f]{64}: only the committed key can rotate it/)]);

    // The committed key rotates without the old key, committing to the one after it.
    const after = await json('keygen', '--name', 'alice', '--out', 'alice-next-next.key');
    const both = await pvl('creator', 'rotate', ...on, '--key', 'alice.key', '--from', alice.keyRef, '--new-key', 'alice-next.key', '--next-key', 'alice-next-next.key');
    expect(both.code).toBe(2);
    const rotated = await json('creator', 'rotate', ...on, '--from', alice.keyRef, '--new-key', 'alice-next.key', '--next-key', after.keyRef, '--compromised-since', String(grant.index));
    const rotation = await entry(rotated.index);
    expect(rotation).toMatchObject({ author: alice.next.keyRef, rotation: { from: alice.keyRef }, next: committed(after.keyRef), compromised: { since: grant.index } });
    expect(rotation.rotation.sig).toBeUndefined();
  }, 60000);

  it('a builder registers and rotates the same way; audit counts the uses its stolen key declared', async () => {
    const on = ['--server', url, '--vkey', 'log.vkey'];
    const work = `sha256:${'ef'.repeat(32)}`;
    await json('keygen', '--name', 'dora', '--out', 'dora.key');
    const grant = await json('consent', 'grant', ...on, '--key', 'dora.key', '--work', work, '--allow', 'ai_training');
    const builder = await json('keygen', '--name', 'acme', '--out', 'acme.key', '--next', 'acme-next.key');
    await json('creator', 'register', ...on, '--key', 'acme.key', '--next-key', 'acme-next.key');
    await writeFile(join(dir, 'acme-items.csv'), `work,consent\n${work},${grant.index}\n`);
    const declared = await json('use', 'declare', ...on, '--key', 'acme.key', '--model', 'acme-m@1', '--items', 'acme-items.csv');
    await json('keygen', '--name', 'acme', '--out', 'acme-next-next.key');
    await json('creator', 'rotate', ...on, '--from', builder.keyRef, '--new-key', 'acme-next.key', '--next-key', 'acme-next-next.key', '--compromised-since', String(declared.index));
    const audit = await pvl('audit', ...on, '--json');
    expect(errors(audit.stderr)).toEqual([]);
    expect(JSON.parse(audit.stdout).compromisedKeyItems).toBe(1);
  }, 60000);

  it('notes what a grant publishes before signing it', async () => {
    await json('keygen', '--name', 'carol', '--out', 'carol.key');
    const r = await pvl('consent', 'grant', '--server', url, '--vkey', 'log.vkey', '--key', 'carol.key', '--work', `sha256:${'cd'.repeat(32)}`, '--allow', 'ai_training', '--compensation', '1.00 EUR flat Carol Example', '--json');
    expect(r.code).toBe(0);
    expect(notes(r.stderr)).toEqual([expect.stringMatching(/^pvl: note: log records are public and permanent; this consent-grant record publishes your key .*, the payee "Carol Example"$/)]);
  }, 30000);
});

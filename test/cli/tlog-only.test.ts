/**
 * `pvl audit --tlog-only` against a plain static file server (node:http) of the tlog-tiles log
 * written by another implementation (test/vectors/tiled-log). Expectations come from the
 * vectors' README (the 15 words) through an independent RFC 6962 reference implementation.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createServer, type Server } from 'node:http';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import { Command } from 'commander';
import { registerAudit } from '../../src/cli/commands/audit.js';
import { auditTlogOnly } from '../../src/cli/tlog-audit.js';
import { nobleSigner, parseCheckpoint, parsePrivateKey, signCheckpoint } from '../../src/note/index.js';
import { refLeafHash, refMth } from '../support/rfc6962-reference.js';
import { SKEY, VKEY, hex } from '../note/helpers.js';
import { tempDir } from '../support/tmp.js';

const VECTORS = join(import.meta.dirname, '..', 'vectors', 'tiled-log');
const WORDS = 'one two three four five six seven eit nain ten ileven twelf threeten fourten fivten'.split(' ');
const enc = new TextEncoder();
const rootOfFirst = (n: number) => hex(refMth(WORDS.slice(0, n).map((w) => enc.encode(w))));

/** Serves the files under `root` read-only; anything else is 404. */
function staticServer(root: string): Promise<{ server: Server; url: string }> {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^\/+/, '');
    try {
      if (path.startsWith('..')) throw new Error('outside');
      const body = await readFile(join(root, path));
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` })));
}

let dir: string;
let cleanup: () => Promise<void>;
let server: Server;
let url: string;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('pvl-tlog-'));
  ({ server, url } = await staticServer(VECTORS));
});
afterAll(async () => {
  server?.close();
  await cleanup?.();
});

async function runCli(args: string[]): Promise<string> {
  const program = new Command('pvl').exitOverride();
  registerAudit(program);
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  try {
    await program.parseAsync(['node', 'pvl', ...args]);
  } finally {
    log.mockRestore();
  }
  return lines.join('\n');
}

describe('pvl audit --tlog-only on a static copy of the tiled-log vectors', () => {
  it('recomputes the 15-entry root the reference implementation gives', async () => {
    const s = await auditTlogOnly({ server: url, vkey: VKEY });
    expect(s.treeSize).toBe(15);
    expect(s.origin).toBe('example.com/log/testdata');
    expect(s.rootHash).toBe(rootOfFirst(15));
    expect(s.entryBytes).toBe(WORDS.join('').length);
    expect(s.consistentWithSaved).toBeNull();
  });

  it('accepts every published earlier checkpoint as --since (consistency built from tiles)', async () => {
    for (let n = 0; n <= 15; n++) {
      const s = await auditTlogOnly({ server: url, vkey: VKEY, since: join(VECTORS, `checkpoint.${n}`) });
      expect(s.consistentWithSaved).toBe(true);
      expect(s.sinceSize).toBe(n);
      expect(hex(parseCheckpoint((await readFile(join(VECTORS, `checkpoint.${n}`), 'utf8')).split('\n\n')[0] + '\n').rootHash)).toBe(rootOfFirst(n));
    }
  });

  it('rejects a saved checkpoint of another history under the same key', async () => {
    const signer = nobleSigner(parsePrivateKey(SKEY));
    const forged = signCheckpoint({ origin: 'example.com/log/testdata', size: 7, rootHash: refLeafHash(enc.encode('forged')), extensions: [] }, signer);
    await writeFile(join(dir, 'forged'), forged);
    await expect(auditTlogOnly({ server: url, vkey: VKEY, since: join(dir, 'forged') })).rejects.toMatchObject({ code: 'inconsistent' });
  });

  it('rejects a log whose entry bundle was tampered with, and a wrong key', async () => {
    const copy = join(dir, 'tampered');
    await cp(VECTORS, copy, { recursive: true });
    const bundle = join(copy, 'tile/entries/000.p/15');
    const bytes = await readFile(bundle);
    bytes[bytes.length - 1] ^= 1;
    await writeFile(bundle, bytes);
    const bad = await staticServer(copy);
    try {
      await expect(auditTlogOnly({ server: bad.url, vkey: VKEY })).rejects.toMatchObject({ code: 'bad-tile' });
    } finally {
      bad.server.close();
    }
    const other = 'example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSy';
    await expect(auditTlogOnly({ server: url, vkey: other })).rejects.toThrow();
  });

  it('is wired into `pvl audit --tlog-only` with human and JSON output', async () => {
    const human = await runCli(['audit', '--tlog-only', '--server', url, '--vkey', VKEY, '--since', join(VECTORS, 'checkpoint.5')]);
    expect(human).toContain('15 entries');
    expect(human).toContain(rootOfFirst(15));
    expect(human).toContain('consistent with the saved checkpoint of size 5');
    const json = JSON.parse(await runCli(['audit', '--tlog-only', '--server', url, '--vkey', VKEY, '--json']));
    expect(json).toMatchObject({ treeSize: 15, rootHash: rootOfFirst(15), entryBundles: 1 });
  });
});

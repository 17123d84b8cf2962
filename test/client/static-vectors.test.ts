/**
 * LedgerClient pointed at a plain static file server of test/vectors/tiled-log (written by
 * another tlog-tiles implementation): checkpoints, entry bundles, entries and inclusion proofs
 * built from hash tiles must all verify; expectations from an independent RFC 6962 reference.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import { LedgerClient } from '../../src/client/index.js';
import { TileNodeReader, verifyInclusionFromTiles } from '../../src/cli/tlog-audit.js';
import { MemoryTree, defaultHasher, formatTilePath, tilesForSize, verifyConsistency, verifyInclusion } from '../../src/merkle/index.js';
import { refConsistency, refLeafHash, refMth, refPath } from '../support/rfc6962-reference.js';
import { VKEY, hex } from '../note/helpers.js';

const VECTORS = join(import.meta.dirname, '..', 'vectors', 'tiled-log');
const WORDS = 'one two three four five six seven eit nain ten ileven twelf threeten fourten fivten'.split(' ');
const leaves = WORDS.map((w) => new TextEncoder().encode(w));

/** Serves the files under `root` read-only, like any static web server; anything else is 404. */
function staticServer(root: string): Promise<{ server: Server; url: string }> {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^\/+/, '');
    try {
      if (path.startsWith('..')) throw new Error('outside');
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(await readFile(join(root, path)));
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` })));
}

let server: Server;
let client: LedgerClient;

beforeAll(async () => {
  let url: string;
  ({ server, url } = await staticServer(VECTORS));
  client = new LedgerClient(url, { verifier: VKEY });
});
afterAll(() => void server?.close());

const checkpointAt = async (n: number) => client.openCheckpoint(await readFile(join(VECTORS, `checkpoint.${n}`), 'utf8'));

describe('LedgerClient on a static tlog-tiles server', () => {
  it('fetches and verifies the latest checkpoint', async () => {
    const { checkpoint } = await client.checkpoint();
    expect(checkpoint.size).toBe(15);
    expect(hex(checkpoint.rootHash)).toBe(hex(refMth(leaves)));
  });

  it('reads every entry of every published size and recomputes its root', async () => {
    for (let n = 1; n <= 15; n++) {
      const { checkpoint } = await checkpointAt(n);
      const got: string[] = [];
      for await (const { entry } of client.entries(checkpoint)) got.push(new TextDecoder().decode(entry));
      expect(got).toEqual(WORDS.slice(0, n));
    }
  });

  it('proves inclusion of every entry in every checkpoint from the hash tiles alone', async () => {
    for (let n = 1; n <= 15; n++) {
      const at = await checkpointAt(n);
      const reader = new TileNodeReader(client, n);
      for (let i = 0; i < n; i++) {
        const proof = await reader.inclusionProof(i);
        expect(proof.map(hex)).toEqual(refPath(i, leaves.slice(0, n)).map(hex));
        await verifyInclusionFromTiles(client, at, i, refLeafHash(leaves[i]));
      }
      await expect(verifyInclusionFromTiles(client, at, 0, refLeafHash(new TextEncoder().encode('zero')))).rejects.toThrow();
    }
  });

  it('proves consistency between every pair of checkpoints from the hash tiles', async () => {
    for (let m = 1; m <= 15; m++) {
      const to = (await checkpointAt(m)).checkpoint;
      const reader = new TileNodeReader(client, m);
      for (let k = 1; k < m; k++) {
        const proof = await reader.consistencyProof(k);
        expect(proof.map(hex)).toEqual(refConsistency(k, leaves.slice(0, m)).map(hex));
        verifyConsistency(defaultHasher, k, m, proof, (await checkpointAt(k)).checkpoint.rootHash, to.rootHash);
      }
    }
  });
});

describe('TileNodeReader above level 0', () => {
  it('builds the same proofs as an in-memory tree for a 773-entry log (partial level-1 tile)', async () => {
    const size = 773;
    const tree = new MemoryTree();
    for (let i = 0; i < size; i++) tree.append(defaultHasher.hashLeaf(new Uint8Array([i & 255, i >> 8])));
    // Serve the tiles from the in-memory tree through a fake fetch: tile L/N holds the hashes of
    // tree level 8·L nodes 256·N … (a second construction of the C2SP tile layout).
    const tiles = new Map<string, Uint8Array>();
    for (const t of tilesForSize(size)) {
      if (t.level === 'entries') continue;
      const bytes = new Uint8Array(t.width * 32);
      for (let i = 0; i < t.width; i++) bytes.set(tree.node({ level: 8 * t.level, index: t.index * 256 + i }), i * 32);
      tiles.set('/' + formatTilePath(t), bytes);
    }
    const fake = (async (u: string) => {
      const body = tiles.get(new URL(u).pathname);
      return body ? new Response(body as unknown as BodyInit) : new Response('', { status: 404 });
    }) as typeof fetch;
    const reader = new TileNodeReader(new LedgerClient('http://tiles.invalid', { verifier: VKEY, fetch: fake }), size);
    for (const i of [0, 1, 255, 256, 511, 512, 700, 772]) {
      const proof = await reader.inclusionProof(i);
      expect(proof.map(hex)).toEqual(tree.inclusionProof(i).map(hex));
      verifyInclusion(defaultHasher, i, size, tree.node({ level: 0, index: i }), proof, tree.root());
    }
    for (const k of [1, 256, 300, 512, 772]) expect((await reader.consistencyProof(k)).map(hex)).toEqual(tree.consistencyProof(k).map(hex));
  });
});

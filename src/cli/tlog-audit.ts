/**
 * `pvl audit --tlog-only`: audits any C2SP tlog-tiles log, knowing nothing of its entries.
 * Only the static read API is used (`/checkpoint`, `/tile/<L>/<N>[.p/<W>]`,
 * `/tile/entries/<N>[.p/<W>]`), so a plain file server of a log's directory is enough.
 */
import { LedgerClient, type SignedCheckpoint } from '../client/index.js';
import { LedgerError } from '../errors.js';
import {
  CompactRange,
  TILE_WIDTH,
  consistencyPlan,
  defaultHasher,
  equalHashes,
  foldRange,
  formatTilePath,
  inclusionPlan,
  locateNode,
  proofFromPlan,
  rangeNodes,
  tileWidthAt,
  verifyConsistency,
  verifyInclusion,
  type Hash,
  type NodeId,
} from '../merkle/index.js';
import { toHex } from '../records/index.js';
import { loadCheckpoint, writeFileAtomic } from './checkpoint-file.js';
import { readVerifierKey } from './keys.js';
import { printJson, Progress } from './output.js';

export class TlogAuditError extends LedgerError {}

/**
 * Reads Merkle nodes of the tree of `size` entries out of its hash tiles, one tile fetch per
 * distinct tile (cached): enough for inclusion and consistency proofs without a proof endpoint.
 */
export class TileNodeReader {
  private readonly tiles = new Map<string, Hash[]>();

  constructor(
    private readonly client: LedgerClient,
    readonly size: number,
  ) {}

  /** How many distinct tiles were fetched. */
  get tilesRead(): number {
    return this.tiles.size;
  }

  /** The hashes stored in hash tile (level, index) of this tree; each must be 32 bytes. */
  async tile(level: number, index: number): Promise<Hash[]> {
    const width = tileWidthAt(level, index, this.size);
    const path = formatTilePath({ level, index, width });
    let hashes = this.tiles.get(path);
    if (!hashes) {
      const bytes = new Uint8Array(await (await this.client.request('/' + path)).arrayBuffer());
      if (bytes.length !== width * 32) throw new TlogAuditError('bad-tile', `${path} has ${bytes.length} bytes, expected ${width * 32}`, path);
      hashes = Array.from({ length: width }, (_, i) => bytes.subarray(i * 32, i * 32 + 32));
      this.tiles.set(path, hashes);
    }
    return hashes;
  }

  /** The hashes of complete subtrees (RFC 6962 node ids), folded from their tiles. */
  read = async (nodes: NodeId[]): Promise<Hash[]> => {
    const out: Hash[] = [];
    for (const node of nodes) {
      const at = locateNode(node);
      const hashes = await this.tile(at.level, at.index);
      if (at.offset + at.count > hashes.length) throw new TlogAuditError('bad-tile', `tile ${at.level}/${at.index} is too short for node ${node.level}/${node.index}`, 'tile');
      out.push(subtreeHash(hashes.slice(at.offset, at.offset + at.count)));
    }
    return out;
  };

  /** RFC 6962 inclusion proof of leaf `index`, built from the tiles. */
  inclusionProof(index: number): Promise<Hash[]> {
    return proofFromPlan(inclusionPlan(index, this.size), this.read, defaultHasher);
  }

  /** RFC 6962 consistency proof from `from` to this tree's size, built from the tiles. */
  consistencyProof(from: number): Promise<Hash[]> {
    return proofFromPlan(consistencyPlan(from, this.size), this.read, defaultHasher);
  }
}

/** The hash of a complete subtree from its 2^r hashes at the tile's base level (pairwise, level by level). */
function subtreeHash(hashes: Hash[]): Hash {
  while (hashes.length > 1) hashes = Array.from({ length: hashes.length / 2 }, (_, i) => defaultHasher.hashChildren(hashes[2 * i], hashes[2 * i + 1]));
  return hashes[0];
}

/** Proves leaf `index` (hash `leafHash`) is in the checkpoint's tree, from tiles alone. */
export async function verifyInclusionFromTiles(client: LedgerClient, at: SignedCheckpoint, index: number, leafHash: Hash): Promise<void> {
  const reader = new TileNodeReader(client, at.checkpoint.size);
  verifyInclusion(defaultHasher, index, at.checkpoint.size, leafHash, await reader.inclusionProof(index), at.checkpoint.rootHash);
}

export interface TlogAuditOpts {
  server: string;
  vkey: string;
  since?: string;
  save?: string;
  json?: boolean;
}

export interface TlogAuditSummary {
  origin: string;
  treeSize: number;
  /** Lowercase hex of the checkpoint's root hash. */
  rootHash: string;
  entryBytes: number;
  entryBundles: number;
  hashTilesChecked: number;
  sinceSize: number | null;
  consistentWithSaved: boolean | null;
}

/**
 * Downloads every entry bundle and the level-0 hash tiles, requires each tile to hold the leaf
 * hashes of its bundle, recomputes the root from the entries and from the upper tiles, and
 * (with --since) proves the saved checkpoint is a prefix: its root must equal the root of the
 * downloaded entries' prefix and a consistency proof built from the tiles must verify.
 */
export async function auditTlogOnly(opts: TlogAuditOpts): Promise<TlogAuditSummary> {
  const client = new LedgerClient(opts.server, { verifier: await readVerifierKey(opts.vkey) });
  const latest = await client.checkpoint();
  const { size, rootHash, origin } = latest.checkpoint;
  const saved = opts.since ? (await loadCheckpoint(client, opts.since)).checkpoint : undefined;
  if (saved && saved.size > size) throw new TlogAuditError('rollback', `checkpoint size ${size} is below the saved ${saved.size}`, 'checkpoint');
  const reader = new TileNodeReader(client, size);
  const range = new CompactRange(defaultHasher);
  let entryBytes = 0;
  let sincePrefixRoot: Hash | undefined = saved?.size === 0 ? defaultHasher.emptyRoot() : undefined;
  const bundles = Math.ceil(size / TILE_WIDTH);
  const progress = new Progress('downloading', size, 'entries');
  for (let n = 0; n < bundles; n++) {
    const entries = await client.entryBundle(n, size);
    const tile = await reader.tile(0, n);
    entries.forEach((entry, i) => {
      const leaf = defaultHasher.hashLeaf(entry);
      if (!equalHashes(leaf, tile[i])) throw new TlogAuditError('bad-tile', `tile 0/${n} hash ${i} is not the leaf hash of entry ${n * TILE_WIDTH + i}`, 'tile');
      range.push(leaf);
      entryBytes += entry.length;
      if (saved && range.size === saved.size) sincePrefixRoot = range.root();
    });
    progress.update(Math.min(size, (n + 1) * TILE_WIDTH));
  }
  progress.done(size);
  const entriesRoot = size === 0 ? defaultHasher.emptyRoot() : range.root();
  if (!equalHashes(entriesRoot, rootHash)) throw new TlogAuditError('root-mismatch', `the entries recompute a different root than checkpoint ${size}`, 'entries');
  if (size > 0) {
    const tilesRoot = foldRange(await reader.read(rangeNodes(0, size)), defaultHasher);
    if (!equalHashes(tilesRoot, rootHash)) throw new TlogAuditError('root-mismatch', `the hash tiles give a different root than checkpoint ${size}`, 'tiles');
  }
  let consistentWithSaved: boolean | null = null;
  if (saved) {
    if (!sincePrefixRoot || !equalHashes(sincePrefixRoot, saved.rootHash)) throw new TlogAuditError('inconsistent', `the log's first ${saved.size} entries do not give the saved checkpoint's root: history was rewritten`, 'since');
    if (saved.size > 0 && saved.size < size) verifyConsistency(defaultHasher, saved.size, size, await reader.consistencyProof(saved.size), saved.rootHash, rootHash);
    consistentWithSaved = true;
  }
  if (opts.save) await writeFileAtomic(opts.save, latest.note);
  return { origin, treeSize: size, rootHash: toHex(rootHash), entryBytes, entryBundles: bundles, hashTilesChecked: reader.tilesRead, sinceSize: saved?.size ?? null, consistentWithSaved };
}

export function printTlogAudit(s: TlogAuditSummary, json: boolean): void {
  if (json) return printJson(s);
  console.log(`log ${s.origin}: ${s.treeSize} entries (${s.entryBytes} bytes in ${s.entryBundles} entry bundle${s.entryBundles === 1 ? '' : 's'})`);
  console.log(`root ${s.rootHash}: recomputed from the entries and from the hash tiles; checkpoint signature verified`);
  if (s.consistentWithSaved) console.log(`consistent with the saved checkpoint of size ${s.sinceSize}`);
}

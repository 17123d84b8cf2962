/**
 * LedgerClient: talks to a ledger server (spec/api.md) and returns only data it has verified
 * against a signed checkpoint. Browser-safe: global fetch only, nothing from `node:`.
 */
import { LedgerError } from '../errors.js';
import { decodeBundle } from '../log/bundle.js';
import { CompactRange, defaultHasher, equalHashes, formatTilePath, TILE_WIDTH, verifyConsistency, verifyInclusion } from '../merkle/index.js';
import { openCheckpoint, openCheckpointWithPolicy, parseVerifierKey, type Checkpoint, type TrustPolicy, type Verifier } from '../note/index.js';
import { MANIFEST_ITEM_SIZE, ManifestParser, RecordError, fromBase64, fromHex, parseRecord, toHex, type ParsedRecord } from '../records/index.js';
import { ManifestRoot, type ManifestRootOptions } from '../records/manifest.js';
import { verifyBundle, type Verified, type VerifiedUse } from './bundle.js';

export class ClientError extends LedgerError {}

export interface ClientOptions {
  /** The log's verifier key (string or parsed); with `policy`, the policy's log key is used. */
  verifier?: Verifier | string;
  /**
   * A trust policy (log key, witness keys, quorum): every checkpoint this client accepts must
   * carry the policy's quorum of valid witness cosignatures.
   */
  policy?: TrustPolicy;
  fetch?: typeof fetch;
}

export interface SignedCheckpoint {
  checkpoint: Checkpoint;
  note: string;
}

export interface VerifiedEntry {
  index: number;
  entry: Uint8Array;
  record: ParsedRecord;
}

function decodeProof(list: unknown, field: string): Uint8Array[] {
  if (!Array.isArray(list)) throw new ClientError('bad-response', 'must be an array of base64 hashes', field);
  return list.map((h, i) => {
    const b = typeof h === 'string' ? fromBase64(h) : undefined;
    if (!b || b.length !== 32) throw new ClientError('bad-response', 'must be a base64 32-byte hash', `${field}[${i}]`);
    return b;
  });
}

export class LedgerClient {
  readonly verifier: Verifier;
  readonly policy: TrustPolicy | undefined;
  private readonly base: string;
  private readonly doFetch: typeof fetch;

  constructor(url: string, opts: ClientOptions) {
    this.base = url.replace(/\/+$/, '');
    this.policy = opts.policy;
    const verifier = opts.policy?.log ?? opts.verifier;
    if (!verifier) throw new ClientError('no-verifier', 'a log verifier key or a trust policy is required', 'verifier');
    this.verifier = typeof verifier === 'string' ? parseVerifierKey(verifier.trim()) : verifier;
    this.doFetch = opts.fetch ?? ((...a) => fetch(...a));
  }

  /** A GET or POST that turns problem documents into one-line ClientErrors. */
  request(path: string, init?: RequestInit): Promise<Response> {
    return httpRequest(this.doFetch, this.base, path, init);
  }

  async getJson<T>(path: string): Promise<T> {
    return (await (await this.request(path)).json()) as T;
  }

  /** Opens a checkpoint note with the log key (signature and origin must verify) and the policy's quorum, if any. */
  openCheckpoint(note: string): SignedCheckpoint {
    if (this.policy) return { checkpoint: openCheckpointWithPolicy(note, this.policy).checkpoint, note };
    return { checkpoint: openCheckpoint(note, this.verifier).checkpoint, note };
  }

  /** Opens a checkpoint with the log key alone (e.g. a witness's copy, judged for split views). */
  openLogSigned(note: string): SignedCheckpoint {
    return { checkpoint: openCheckpoint(note, this.verifier).checkpoint, note };
  }

  /**
   * The RFC 9162 consistency proof between two sizes as the server gives it, or undefined when it
   * cannot (a size beyond its published tree, an error).
   */
  async consistencyProof(from: number, to: number): Promise<Uint8Array[] | undefined> {
    try {
      const res = await this.getJson<{ proof: unknown }>(`/proof/consistency?from=${from}&to=${to}`);
      return decodeProof(res.proof, 'proof');
    } catch {
      return undefined;
    }
  }

  /** Fetches the latest checkpoint; its signature must verify. */
  async checkpoint(): Promise<SignedCheckpoint> {
    const note = await (await this.request('/checkpoint')).text();
    return this.openCheckpoint(note);
  }

  /**
   * Proves `newer` extends `trusted` (same origin, never shrinks, RFC 9162 consistency proof
   * from the server). Throws if the log forked or rolled back.
   */
  async checkConsistency(trusted: Checkpoint, newer: Checkpoint): Promise<void> {
    if (newer.size < trusted.size) throw new ClientError('rollback', `checkpoint size ${newer.size} is below the trusted ${trusted.size}`, 'checkpoint');
    if (trusted.size === 0 || newer.size === trusted.size) {
      if (newer.size === trusted.size && !equalHashes(newer.rootHash, trusted.rootHash)) {
        throw new ClientError('fork', `two different roots for size ${newer.size}: the log forked`, 'checkpoint');
      }
      return;
    }
    const res = await this.getJson<{ proof: unknown }>(`/proof/consistency?from=${trusted.size}&to=${newer.size}`);
    try {
      verifyConsistency(defaultHasher, trusted.size, newer.size, decodeProof(res.proof, 'proof'), trusted.rootHash, newer.rootHash);
    } catch (e) {
      throw new ClientError('inconsistent', `checkpoint ${newer.size} is not consistent with trusted ${trusted.size}: ${(e as Error).message}`, 'checkpoint');
    }
  }

  /** Fetches one entry, proves its inclusion in `at`, and checks its signature. */
  async entry(index: number, at: Checkpoint): Promise<Verified<VerifiedEntry>> {
    const got = await this.getJson<{ entry: string }>(`/entries/${index}`);
    const entry = fromBase64(got.entry);
    if (!entry) throw new ClientError('bad-response', 'must be base64', 'entry');
    const proof = await this.getJson<{ proof: unknown }>(`/proof/inclusion?index=${index}&size=${at.size}`);
    try {
      verifyInclusion(defaultHasher, index, at.size, defaultHasher.hashLeaf(entry), decodeProof(proof.proof, 'proof'), at.rootHash);
    } catch (e) {
      throw new ClientError('not-included', `entry ${index} is not in checkpoint ${at.size}: ${(e as Error).message}`, 'entry');
    }
    return { verified: true, checkpoint: at, value: { index, entry, record: parseRecord(entry) } };
  }

  /** Fetches one entry bundle (full or partial) of the tree of `size` entries. */
  async entryBundle(n: number, size: number): Promise<Uint8Array[]> {
    const width = Math.min(TILE_WIDTH, size - n * TILE_WIDTH);
    const path = '/' + formatTilePath({ level: 'entries', index: n, width });
    const bytes = new Uint8Array(await (await this.request(path)).arrayBuffer());
    const entries = decodeBundle(bytes);
    if (entries.length !== width) throw new ClientError('bad-tile', `entry bundle ${n} has ${entries.length} entries, expected ${width}`, path);
    return entries;
  }

  /**
   * Downloads every entry of the checkpoint's tree via entry bundles, calling `onEntry` in log
   * order, and checks the recomputed root equals the checkpoint's before returning. Callers must
   * treat what `onEntry` saw as provisional until this resolves.
   */
  async *entries(at: Checkpoint): AsyncGenerator<{ index: number; entry: Uint8Array }, void, void> {
    const range = new CompactRange(defaultHasher);
    let index = 0;
    for (let n = 0; n * TILE_WIDTH < at.size; n++) {
      for (const entry of await this.entryBundle(n, at.size)) {
        range.push(defaultHasher.hashLeaf(entry));
        yield { index: index++, entry };
      }
    }
    const root = at.size === 0 ? defaultHasher.emptyRoot() : range.root();
    if (!equalHashes(root, at.rootHash)) throw new ClientError('root-mismatch', `entries recompute a different root than checkpoint ${at.size}`, 'tiles');
  }

  /**
   * Downloads a stored manifest (GET /manifests/<root>/items) and checks it against the root and
   * count a training-use record commits to: header, every item, count, and the RFC 6962 root
   * (`opts.batchHasher` hashes elsewhere, e.g. in worker threads). Yields the items as they
   * arrive, whole 49-byte items packed in each piece; the root is known only at the end and the
   * generator throws there if it differs, so callers must treat what it yielded as provisional
   * until it has returned.
   */
  async *manifestItems(manifest: { root: string; count: number }, opts: ManifestRootOptions = {}): AsyncGenerator<Uint8Array, void, void> {
    const path = `/manifests/${manifest.root}/items`;
    const body = (await this.request(path)).body;
    if (!body) throw new ClientError('bad-response', 'no body', path);
    const parser = new ManifestParser({ hashItems: false });
    const root = new ManifestRoot(opts);
    const reader = body.getReader();
    try {
      for (let read = await reader.read(); !read.done; read = await reader.read()) {
        const items = new Uint8Array(read.value.length + MANIFEST_ITEM_SIZE);
        let filled = 0;
        parser.push(read.value, ({ bytes }) => {
          items.set(bytes, filled);
          filled += MANIFEST_ITEM_SIZE;
        });
        if (parser.count !== undefined && parser.count !== manifest.count) throw new ClientError('count-mismatch', `manifest ${manifest.root} declares ${parser.count} items, the record ${manifest.count}`, path);
        if (filled === 0) continue;
        await root.add(items.subarray(0, filled));
        yield items.subarray(0, filled);
      }
      parser.close();
      const got = await root.finish();
      if (!equalHashes(got.root, fromHex(manifest.root) ?? new Uint8Array())) throw new ClientError('root-mismatch', `manifest bytes served for ${manifest.root} hash to ${toHex(got.root)}`, path);
    } catch (e) {
      if (e instanceof RecordError) throw new ClientError(e.code, `manifest ${manifest.root} as served: ${e.message}`);
      throw e;
    } finally {
      reader.releaseLock();
    }
  }

  /** Verifies a proof bundle offline (no request is made). */
  verifyBundle(bundle: unknown): Verified<VerifiedUse> {
    return verifyBundle(bundle, this.verifier);
  }
}

/** One HTTP exchange; network failures and problem documents become one-line ClientErrors. */
async function httpRequest(doFetch: typeof fetch, base: string, path: string, init?: RequestInit): Promise<Response> {
  let res: Response;
  try {
    res = await doFetch(base + path, init);
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new ClientError('unreachable', `cannot reach ${base}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
  }
  if (!res.ok) {
    let detail = res.statusText;
    try {
      const problem = (await res.json()) as { detail?: string; title?: string };
      detail = problem.detail ?? problem.title ?? detail;
    } catch {
      /* not a problem document */
    }
    throw new ClientError('http-' + res.status, `${init?.method ?? 'GET'} ${path}: ${res.status} ${detail}`);
  }
  return res;
}

/**
 * The log's verifier key as the server states it (GET /log/vkey). Trust on first use only:
 * callers that can should pin the key instead.
 */
export async function fetchVerifierKey(url: string, doFetch: typeof fetch = (...a) => fetch(...a)): Promise<string> {
  const text = (await (await httpRequest(doFetch, url.replace(/\/+$/, ''), '/log/vkey')).text()).trim();
  parseVerifierKey(text); // must at least parse as a key
  return text;
}

/**
 * The HTTP API of the ledger (spec/api.md) as a hono app: a thin layer over the Ledger (the
 * personality: admission, queries, manifests, bundles) and the Log (tiles, checkpoints, proofs).
 *
 * Every error is an RFC 9457 problem document; every GET answers CORS `*`.
 */
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import type { HttpBindings } from '@hono/node-server';
import { BACKGROUND_WORK, type Ledger, type SubmitResult } from '../ledger/types.js';
import type { Log, SignedCheckpoint } from '../log/index.js';
import type { StoreMemory } from '../store/index.js';
import { type Hash, TILE_WIDTH, parseTilePath, tileWidthAt } from '../merkle/index.js';
import { nodeHasher } from '../platform/node-hasher.js';
import { nodeEd25519Verify } from '../platform/node-signer.js';
import { type KeyRef, MANIFEST_HEADER_SIZE, MANIFEST_ITEM_SIZE, MAX_JSON_DEPTH, canonicalEntry, isKeyRef, isWorkId, jsonDeeperThan, parseRecord } from '../records/index.js';
import { isLedgerError } from '../errors.js';
import { type ServerMetrics, Gauge, createServerMetrics } from './metrics.js';
import { HttpProblem, problemFromError, problemResponse, statusOf } from './problem.js';
import { openapiDocument } from './openapi.js';
import { eventsHandler } from './events.js';
import { consentPageParams, formatUseCursor, usePageParams } from './paging.js';
import { BODY_IDLE_TIMEOUT_MS, BODY_MIN_RATE, BODY_RATE_GRACE_MS, type BodyPace, DEFAULT_DRAIN, type DrainLimits, bodyChunks, drainUnreadBody, readLimited } from './body.js';
import { Admission, admitted, clientOf } from './admission.js';
import { quotaProblem } from './manifest-quota.js';
import { readFile } from 'node:fs/promises';
import { getHeapSpaceStatistics } from 'node:v8';
import { fileURLToPath } from 'node:url';

/** 1 MiB: the largest JSON body POST /records accepts. */
export const MAX_RECORDS_BODY = 1024 * 1024;
/** The largest batch of envelopes in one POST /records. */
export const MAX_BATCH = 1000;
export { BODY_IDLE_TIMEOUT_MS, BODY_MIN_RATE, BODY_RATE_GRACE_MS } from './body.js';
/** Open /events streams at most, and from one client address at most. */
export const MAX_EVENT_STREAMS = 512;
export const MAX_EVENT_STREAMS_PER_ADDRESS = 16;

export interface WitnessStatus {
  name: string;
  up: boolean;
  cosignedSize: number;
}

export interface AppOptions {
  ledger: Ledger;
  log: Log;
  /** The log's verifier key string (served at /log/vkey). */
  vkey: string;
  metrics?: ServerMetrics;
  /**
   * The checkpoint /checkpoint serves. Default: the log's latest signed checkpoint. With
   * witnesses, the latest one cosigned by the quorum (cosignature lines appended).
   */
  published?: () => SignedCheckpoint | undefined;
  /**
   * With witnesses: resolves with the first published checkpoint containing entry `index`
   * (POST /records?wait=checkpoint). Default: the ledger's waitForCheckpoint.
   */
  waitPublished?: (index: number) => Promise<SignedCheckpoint>;
  /** The store's memory by part, for /metrics (LogStore.memoryUse). */
  storeMemory?: () => StoreMemory[];
  /** Witness health for /metrics, when witnesses are configured. */
  witnesses?: () => WitnessStatus[];
  /** SSE keepalive comment interval; default 15 s. */
  keepaliveMs?: number;
  /** Aborted when the server shuts down: open event streams end. */
  shutdown?: AbortSignal;
  /** Largest POST /records body; default 1 MiB. */
  maxRecordsBody?: number;
  /** Longest wait for the next bytes of a request body; default BODY_IDLE_TIMEOUT_MS. */
  bodyIdleTimeoutMs?: number;
  /** Slowest average rate of a request body after the grace, bytes/s (0: none); default BODY_MIN_RATE. */
  bodyMinRate?: number;
  /** How long a body may arrive at any rate; default BODY_RATE_GRACE_MS. */
  bodyRateGraceMs?: number;
  /** How much of a refused body is read and discarded before the connection closes; default DEFAULT_DRAIN. */
  drain?: Partial<DrainLimits>;
  /** Open /events streams at most; default MAX_EVENT_STREAMS. */
  maxEventStreams?: number;
  /** Open /events streams per client address at most; default MAX_EVENT_STREAMS_PER_ADDRESS. */
  maxEventStreamsPerAddress?: number;
  /** Take the client address from the last X-Forwarded-For entry (only behind a proxy that sets it). */
  trustForwardedFor?: boolean;
}

export type Env = { Bindings: Partial<HttpBindings> };

const JSON_CT = 'application/json';
const IMMUTABLE = 'public, max-age=31536000, immutable';
const SHORT = 'max-age=1';
const CHECKPOINT_CACHE = 'no-cache, max-age=1';

const textDecoder = new TextDecoder('utf-8', { fatal: true });

const b64 = (h: Uint8Array) => Buffer.from(h.buffer, h.byteOffset, h.byteLength).toString('base64');
const hex = (h: Uint8Array) => Buffer.from(h.buffer, h.byteOffset, h.byteLength).toString('hex');

/**
 * A JSON answer sent as bytes, for the large ones (a batch's proofs, creators' use reports):
 * given a string, @hono/node-server measures it (Buffer.byteLength, a pass that also flattens
 * it) and then encodes it (another). Under sustained submission that was 4 % of the main thread.
 */
function jsonAnswer(c: Context, value: unknown, status: 200 | 201 = 200): Response {
  return c.body(Buffer.from(JSON.stringify(value)), status, { 'Content-Type': 'application/json' });
}

/** A decimal integer without sign or leading zeros, up to 2^53 − 1. */
export function parseDecimal(value: string | undefined, field: string, { required = true, min = 0 } = {}): number | undefined {
  if (value === undefined || value === '') {
    if (required) throw new HttpProblem(400, 'missing-parameter', `is required`, field);
    return undefined;
  }
  if (!/^(0|[1-9][0-9]{0,15})$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new HttpProblem(400, 'bad-parameter', `must be a decimal integer below 2^53, got ${JSON.stringify(value.slice(0, 40))}`, field);
  }
  const n = Number(value);
  if (n < min) throw new HttpProblem(400, 'bad-parameter', `must be at least ${min}, got ${n}`, field);
  return n;
}

function parseHexHash(value: string | undefined, field: string): Hash {
  if (value === undefined || !/^[0-9a-f]{64}$/.test(value)) {
    throw new HttpProblem(400, 'bad-parameter', `must be 64 lowercase hex digits, got ${JSON.stringify((value ?? '').slice(0, 80))}`, field);
  }
  return Uint8Array.from(Buffer.from(value, 'hex'));
}

function checkWorkId(id: string, field = 'work'): string {
  if (!isWorkId(id)) throw new HttpProblem(400, 'bad-work-id', `must be sha256:<64 hex> | phash:<16 hex> | pdq:<64 hex> | tcode:<16 hex>, got ${JSON.stringify(id.slice(0, 80))}`, field);
  return id;
}

function checkKeyRef(key: string, field = 'key'): string {
  if (!isKeyRef(key)) throw new HttpProblem(400, 'bad-key', `must be ed25519:<64 lowercase hex>, got ${JSON.stringify(key.slice(0, 80))}`, field);
  return key;
}

/** A path parameter; the router guarantees it is present for the routes that name it. */
function param(c: Context<Env>, name: string): string {
  return c.req.param(name) ?? '';
}

/** The media type of a Content-Type header, lowercased, without parameters. */
/** A web stream of an async iterable's pieces, pulled as the client reads (backpressure); closing it ends the iteration. */
function readableOf(pieces: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array<ArrayBuffer>> {
  const it = pieces[Symbol.asyncIterator]();
  return new ReadableStream({
    async pull(controller) {
      const next = await it.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value as Uint8Array<ArrayBuffer>);
    },
    async cancel() {
      await it.return?.();
    },
  });
}

function mediaType(c: Context): string {
  return (c.req.header('content-type') ?? '').split(';')[0].trim().toLowerCase();
}

const CORS_READ_HEADERS = { 'Access-Control-Allow-Origin': '*', 'Access-Control-Expose-Headers': 'Content-Length,Content-Type,Cache-Control' };

function corsPreflightHeaders(requested: string | undefined): Record<string, string> {
  const headers: Record<string, string> = { 'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Methods': 'GET,HEAD', 'Access-Control-Max-Age': '86400' };
  if (requested) Object.assign(headers, { 'Access-Control-Allow-Headers': requested.split(',').map((h) => h.trim()).join(','), Vary: 'Access-Control-Request-Headers' });
  return headers;
}

/** The raw request path as sent (before URL normalisation removed dot segments). */
function rawPath(c: Context<Env>): string {
  const target = c.env?.incoming?.url;
  // Origin form "/p?q", or absolute form "http://host/p?q" (RFC 9112 §3.2.2): its path as sent too.
  const raw = typeof target === 'string' ? target.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '') : undefined;
  if (raw !== undefined && raw.startsWith('/')) {
    const q = raw.indexOf('?');
    return q < 0 ? raw : raw.slice(0, q);
  }
  return new URL(c.req.url).pathname;
}

const DOT_SEGMENT = /(^|\/)(\.|%2e){1,2}(\/|$)/i;

/** The C2SP tlog-proof file for `index` in the tree of `checkpoint`, from the proof's hashes in base64. */
function formatProofFile(index: number, proofBase64: string[], checkpointNote: string): string {
  return `c2sp.org/tlog-proof@v1\nindex ${index}\n${proofBase64.map((h) => `${h}\n`).join('')}\n${checkpointNote}`;
}

/** The creator page's built files (node web/build.mjs → dist/web), found from dist/src/server or, in tests, src/server. */
const WEB_DIR = fileURLToPath(new URL(import.meta.url.includes('/dist/src/') ? '../../web/' : '../../dist/web/', import.meta.url));
const WEB_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/app.js.map': { file: 'app.js.map', type: 'application/json' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};
/** Same-origin only: the page loads nothing from elsewhere and must work on a closed network. */
const PAGE_CSP = "default-src 'self'; img-src 'self' blob: data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

export function createApp(opts: AppOptions): Hono<Env> {
  const { ledger, log, vkey } = opts;
  const metrics = opts.metrics ?? createServerMetrics();
  const published = opts.published ?? (() => log.checkpoint);
  const maxBody = opts.maxRecordsBody ?? MAX_RECORDS_BODY;
  const bodyPace: BodyPace = {
    idleMs: opts.bodyIdleTimeoutMs ?? BODY_IDLE_TIMEOUT_MS,
    minBytesPerSecond: opts.bodyMinRate ?? BODY_MIN_RATE,
    graceMs: opts.bodyRateGraceMs ?? BODY_RATE_GRACE_MS,
  };
  const drainLimits: DrainLimits = { ...DEFAULT_DRAIN, idleMs: Math.min(DEFAULT_DRAIN.idleMs, bodyPace.idleMs), ...opts.drain };
  const eventStreams = new Admission(opts.maxEventStreams ?? MAX_EVENT_STREAMS, opts.maxEventStreamsPerAddress ?? MAX_EVENT_STREAMS_PER_ADDRESS, 'event streams', 'too-many-streams');
  // Before the witnesses' first quorum there is no published checkpoint: the tree is empty to readers.
  const publishedSize = () => published()?.checkpoint.size ?? 0;
  const waitPublished = opts.waitPublished ?? ((index: number) => ledger.waitForCheckpoint(index));
  const noteText = (s: SignedCheckpoint) => Buffer.from(s.note.buffer, s.note.byteOffset, s.note.byteLength).toString('utf8');

  metrics.registry.register(new Gauge('pvl_log_entries', 'Entries durably sequenced (integrated or not).', () => log.sequencedSize));
  metrics.registry.register(new Gauge('pvl_tree_size', 'Size of the published checkpoint.', () => publishedSize()));
  metrics.registry.register(new Gauge('pvl_indexed_entries', 'Entries in the query index.', () => ledger.indexedSize));
  const failing = () => ledger.failing ?? [];
  metrics.registry.register(
    new Gauge('pvl_background_failing', 'Whether the latest run of background work (integration, indexing) failed (1) or not (0); it is retried.', () =>
      BACKGROUND_WORK.map((work) => ({ labels: { work }, value: failing().some((f) => f.work === work) ? 1 : 0 })),
    ),
  );
  // Whether memory grows with the log: the process as a whole, and the part the JS heap holds.
  metrics.registry.register(new Gauge('process_resident_memory_bytes', 'Resident memory of the server process.', () => process.memoryUsage.rss()));
  metrics.registry.register(new Gauge('nodejs_heap_size_used_bytes', 'JavaScript heap in use (after the last garbage collection, plus what was allocated since).', () => process.memoryUsage().heapUsed));
  metrics.registry.register(new Gauge('nodejs_heap_size_total_bytes', 'JavaScript heap reserved by V8.', () => process.memoryUsage().heapTotal));
  // Which part of the heap grew: V8 sizes its young generation (up to 2 × --max-semi-space-size)
  // and old space by their survival rates, so a reserved heap that grows is not a leak by itself.
  metrics.registry.register(
    new Gauge('nodejs_heap_space_size_total_bytes', 'JavaScript heap reserved by V8, by space (new_space, old_space, code_space, large_object_space, …).', () =>
      getHeapSpaceStatistics().map((s) => ({ labels: { space: s.space_name }, value: s.space_size })),
    ),
  );
  if (opts.storeMemory) {
    const storeMemory = opts.storeMemory;
    metrics.registry.register(
      new Gauge('pvl_store_memory_bytes', 'Memory the store holds, by part (LevelDB: block cache and memtables; the dedup Bloom filter).', () =>
        storeMemory().map((m) => ({ labels: { part: m.part }, value: m.bytes })),
      ),
    );
  }
  metrics.registry.register(new Gauge('nodejs_external_memory_bytes', 'Memory of C++ objects bound to JavaScript objects, Buffers included.', () => process.memoryUsage().external));
  if (opts.witnesses) {
    const w = opts.witnesses;
    metrics.registry.register(new Gauge('pvl_witness_up', 'Whether the witness answered its last request (1) or not (0).', () => w().map((s) => ({ labels: { witness: s.name }, value: s.up ? 1 : 0 }))));
    metrics.registry.register(
      new Gauge('pvl_witness_cosigned_size', 'Largest tree size the witness has cosigned.', () => w().map((s) => ({ labels: { witness: s.name }, value: s.cosignedSize }))),
    );
    metrics.registry.register(new Gauge('pvl_published_size', 'Size of the newest checkpoint published with a witness quorum.', () => publishedSize()));
  }

  const app = new Hono<Env>();

  app.onError((err) => {
    if (statusOf(err) === 500) console.error('pvl serve: internal error:', err);
    return problemFromError(err);
  });
  app.notFound((c) => problemResponse(404, 'not-found', `no resource at ${new URL(c.req.url).pathname}`));

  // Outermost, so that it sees every refusal, from handlers and from the middleware below.
  app.use('*', drainUnreadBody(drainLimits));

  // Status-class counter.
  app.use('*', async (c, next) => {
    await next();
    metrics.requests.inc(1, { code: `${Math.floor(c.res.status / 100)}xx` });
  });

  // Dot segments (`..`, `.`, `%2e`) are refused before URL normalisation can hide them.
  app.use('*', async (c, next) => {
    if (DOT_SEGMENT.test(rawPath(c))) return problemResponse(400, 'bad-path', 'the request path must not contain "." or ".." segments', 'path');
    await next();
  });

  // CORS on reads: every GET and HEAD answers Access-Control-Allow-Origin: *, and a preflight
  // allows exactly those. The headers go in before the handler builds its answer: hono's cors()
  // sets them on the finished response, which makes @hono/node-server rebuild every answer as a
  // full Response (for a creator's 300 KB of proof bundles, a third of the query's cost).
  app.use('*', async (c, next) => {
    const m = c.req.method;
    if (m === 'OPTIONS') return c.body(null, 204, corsPreflightHeaders(c.req.header('Access-Control-Request-Headers')));
    if (m !== 'GET' && m !== 'HEAD') return next();
    for (const [name, value] of Object.entries(CORS_READ_HEADERS)) c.header(name, value);
    await next();
    // Problem answers are built apart from the context and miss the prepared headers.
    if (c.res.status >= 400) for (const [name, value] of Object.entries(CORS_READ_HEADERS)) c.res.headers.set(name, value);
  });

  /** Registers handlers for a path and answers 405 (with Allow) to every other method. */
  const route = (path: string, handlers: { GET?: (c: Context<Env>) => Response | Promise<Response>; POST?: (c: Context<Env>) => Response | Promise<Response> }) => {
    const allow: string[] = [];
    if (handlers.GET) {
      app.get(path, handlers.GET);
      allow.push('GET', 'HEAD');
    }
    if (handlers.POST) {
      app.post(path, handlers.POST);
      allow.push('POST');
    }
    const methodNotAllowed: MiddlewareHandler<Env> = (c) =>
      Promise.resolve(problemResponse(405, 'method-not-allowed', `${c.req.method} is not allowed here; use ${allow.join(', ')}`, undefined, { Allow: allow.join(', ') }));
    app.all(path, methodNotAllowed);
  };

  // ---- tlog-tiles read API -------------------------------------------------------------

  route('/checkpoint', {
    GET: (c) => {
      const current = published();
      if (!current) return problemResponse(503, 'not-witnessed', 'no checkpoint has reached the witness quorum yet', undefined, { 'Retry-After': '1' });
      return c.body(current.note as Uint8Array<ArrayBuffer>, 200, {
        'Content-Type': 'text/plain; charset=utf-8',
        'Cache-Control': CHECKPOINT_CACHE,
      });
    },
  });

  route('/tile/*', {
    GET: async (c) => {
      const path = rawPath(c).slice(1);
      const coord = parseTilePath(path); // MerkleError → 400
      const size = publishedSize();
      const width = coord.level === 'entries' ? tileWidthAt(0, coord.index, size) : tileWidthAt(coord.level, coord.index, size);
      if (width < coord.width) {
        return problemResponse(404, 'tile-not-found', `${path} is not in the published tree (size ${size})`, 'path');
      }
      const bytes = await log.readTile(coord);
      if (!bytes) return problemResponse(404, 'tile-not-found', `${path} is not in the published tree (size ${size})`, 'path');
      return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
        'Content-Type': 'application/octet-stream',
        'Cache-Control': coord.width === TILE_WIDTH ? IMMUTABLE : SHORT,
      });
    },
  });

  route('/log/vkey', {
    GET: (c) => c.body(`${vkey}\n`, 200, { 'Content-Type': 'text/plain; charset=utf-8' }),
  });

  // ---- submitting records --------------------------------------------------------------

  route('/records', {
    POST: async (c) => {
      const wait = c.req.query('wait');
      if (wait !== undefined && wait !== 'checkpoint') throw new HttpProblem(400, 'bad-parameter', `must be "checkpoint", got ${JSON.stringify(wait.slice(0, 40))}`, 'wait');
      const type = mediaType(c);
      if (type !== JSON_CT && !type.endsWith('+json')) {
        metrics.recordsRejected.inc();
        throw new HttpProblem(415, 'unsupported-media-type', `Content-Type must be application/json, got ${JSON.stringify(type || 'nothing')}`, 'Content-Type');
      }
      let envelopes: Uint8Array[];
      let batch = false;
      try {
        const body = await readLimited(c.req.raw, maxBody, bodyPace);
        let text: string;
        try {
          text = textDecoder.decode(body);
        } catch {
          throw new HttpProblem(400, 'bad-utf8', 'the body is not valid UTF-8', 'body');
        }
        // canonicalEntry recurses into what JSON.parse builds: depth is bounded first.
        if (jsonDeeperThan(text, MAX_JSON_DEPTH)) throw new HttpProblem(400, 'bad-json', `the body has nesting deeper than ${MAX_JSON_DEPTH}`, 'body');
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch (e) {
          throw new HttpProblem(400, 'malformed-json', `the body is not JSON (${(e as Error).message})`, 'body');
        }
        batch = Array.isArray(value);
        if (batch) {
          const list = value as unknown[];
          if (list.length === 0) throw new HttpProblem(400, 'empty-batch', 'an array of envelopes must not be empty', 'body');
          if (list.length > MAX_BATCH) throw new HttpProblem(400, 'batch-too-large', `at most ${MAX_BATCH} envelopes per request, got ${list.length}`, 'body');
          envelopes = list.map((e) => canonicalEntry(e));
        } else {
          envelopes = [canonicalEntry(value)];
        }
      } catch (err) {
        if (statusOf(err) < 500) metrics.recordsRejected.inc();
        throw err;
      }

      const done = metrics.appendSeconds.startTimer();
      let results: SubmitResult[];
      try {
        results = await ledger.submit(envelopes);
      } catch (err) {
        if (statusOf(err) === 400) metrics.recordsRejected.inc(envelopes.length);
        throw err;
      }
      done();

      const allDuplicates = results.every((r) => r.duplicate);
      const status = allDuplicates ? 200 : 201;
      let extras: Array<Record<string, unknown>> = results.map(() => ({}));
      if (wait === 'checkpoint') {
        const maxIndex = Math.max(...results.map((r) => r.index));
        const signed = await waitPublished(maxIndex).catch((e: unknown) => {
          if (isLedgerError(e) && e.code === 'not-witnessed') throw new HttpProblem(503, e.code, e.message);
          throw e;
        });
        const note = noteText(signed);
        const treeSize = signed.checkpoint.size;
        extras = await Promise.all(
          results.map(async (r) => {
            const proof = (await log.inclusionProof(r.index, treeSize)).map(b64);
            return { checkpoint: note, proof: formatProofFile(r.index, proof, note), inclusionProof: proof, treeSize };
          }),
        );
      }
      if (!batch) {
        const r = results[0];
        const body: Record<string, unknown> = { index: r.index, leafHash: r.leafHash };
        if (r.duplicate) body.duplicate = true;
        return jsonAnswer(c, { ...body, ...extras[0] }, status);
      }
      return jsonAnswer(c, { results: results.map((r, i) => ({ index: r.index, leafHash: r.leafHash, duplicate: r.duplicate, ...extras[i] })) }, status);
    },
  });

  // ---- manifests -----------------------------------------------------------------------

  route('/manifests', {
    POST: async (c) => {
      const root = c.req.query('root');
      parseHexHash(root, 'root');
      const count = parseDecimal(c.req.query('count'), 'count', { min: 1 })!;
      const type = mediaType(c);
      if (type !== 'application/octet-stream') {
        throw new HttpProblem(415, 'unsupported-media-type', `Content-Type must be application/octet-stream, got ${JSON.stringify(type || 'nothing')}`, 'Content-Type');
      }
      // Quotas of unclaimed bytes are kept per client address, as the stream caps are.
      const client = clientOf(c, opts.trustForwardedFor ?? false);
      const result = await ledger.putManifest(bodyChunks(c.req.raw.body, bodyPace), { root: root!, count }, client).catch((e: unknown) => {
        throw quotaProblem(e);
      });
      return c.json({ root: result.root, count: result.count, expires: result.expires }, result.created ? 201 : 200);
    },
  });

  /** The `:root` of a manifest route, checked (400 if it is not a hash). */
  const manifestRoot = (c: Context) => {
    const root = param(c, 'root');
    parseHexHash(root, 'root');
    return root;
  };
  const unknownManifest = (root: string) => problemResponse(404, 'unknown-manifest', `no manifest with root ${root} is stored`, 'root');

  route('/manifests/:root', {
    GET: async (c) => {
      const root = manifestRoot(c);
      const info = await ledger.getManifest(root);
      if (!info) return unknownManifest(root);
      return c.json({ root: info.root, count: info.count, useIndexes: info.useIndexes, expires: info.expires });
    },
  });

  route('/manifests/:root/items', {
    GET: async (c) => {
      const root = manifestRoot(c);
      const stored = await ledger.manifestBytes(root);
      if (!stored) return unknownManifest(root);
      return c.body(readableOf(stored.bytes), 200, {
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(MANIFEST_HEADER_SIZE + stored.count * MANIFEST_ITEM_SIZE),
        // Named by its root: these bytes never change.
        'Cache-Control': 'public, max-age=31536000, immutable',
      });
    },
  });

  route('/manifests/:root/items/:position', {
    GET: async (c) => {
      const root = manifestRoot(c);
      const position = parseDecimal(param(c, 'position'), 'position')!;
      const info = await ledger.manifestItem(root, position);
      if (!info) return problemResponse(404, 'unknown-manifest-item', `no item ${position} in a stored manifest with root ${root}`, 'position');
      return c.json({ position: info.position, item: info.item, decoded: info.decoded, proof: info.proof, count: info.count, root: info.root });
    },
  });

  // ---- proofs --------------------------------------------------------------------------

  route('/proof/inclusion', {
    GET: async (c) => {
      const treeSize = publishedSize();
      const size = parseDecimal(c.req.query('size'), 'size', { required: false }) ?? treeSize;
      if (size > treeSize) throw new HttpProblem(400, 'bad-size', `must be at most the published tree size ${treeSize}, got ${size}`, 'size');
      const leafHashText = c.req.query('leafHash');
      const indexText = c.req.query('index');
      let index: number;
      let leafHash: Hash;
      if (leafHashText !== undefined) {
        if (indexText !== undefined) throw new HttpProblem(400, 'bad-parameter', 'give index or leafHash, not both', 'leafHash');
        leafHash = parseHexHash(leafHashText, 'leafHash');
        const found = await log.findByLeafHash(leafHash);
        if (found === undefined) return problemResponse(404, 'unknown-leaf', `no entry with leaf hash ${leafHashText} is in the log`, 'leafHash');
        if (found >= size) return problemResponse(404, 'not-integrated', `entry ${found} is not in the tree of size ${size} yet`, 'leafHash');
        index = found;
      } else {
        index = parseDecimal(indexText, 'index')!;
        if (index >= size) throw new HttpProblem(400, 'bad-index', `must be below the tree size ${size}, got ${index}`, 'index');
        [leafHash] = await log.leafHashes(index, 1);
      }
      const proof = await log.inclusionProof(index, size);
      return c.json({ index, size, leafHash: hex(leafHash), proof: proof.map(b64) });
    },
  });

  route('/proof/consistency', {
    GET: async (c) => {
      const treeSize = publishedSize();
      const from = parseDecimal(c.req.query('from'), 'from', { min: 1 })!;
      const to = parseDecimal(c.req.query('to'), 'to', { required: false }) ?? treeSize;
      if (to > treeSize) throw new HttpProblem(400, 'bad-size', `must be at most the published tree size ${treeSize}, got ${to}`, 'to');
      if (from > to) throw new HttpProblem(400, 'bad-size', `must be at most to (${to}), got ${from}`, 'from');
      const proof = await log.consistencyProof(from, to);
      return c.json({ from, to, proof: proof.map(b64) });
    },
  });

  route('/entries/:index', {
    GET: async (c) => {
      const index = parseDecimal(param(c, 'index'), 'index')!;
      const size = publishedSize();
      if (index >= size) return problemResponse(404, 'unknown-entry', `entry ${index} is not in the published tree (size ${size})`, 'index');
      const [entry] = await log.readEntries(index, 1);
      let record: unknown = null;
      try {
        record = parseRecord(entry, { verify: nodeEd25519Verify }).payload;
      } catch (err) {
        if (!isLedgerError(err)) throw err;
      }
      return c.json({ index, leafHash: hex(nodeHasher.hashLeaf(entry)), entry: b64(entry), record });
    },
  });

  // ---- queries -------------------------------------------------------------------------

  route('/works/similar', {
    GET: async (c) => {
      const id = checkWorkId(c.req.query('id') ?? '', 'id');
      // Only the 64-bit codes (phash:, tcode:) are indexed; the ledger rejects pdq: the same way.
      if (id.startsWith('sha256:')) throw new HttpProblem(400, 'bad-work-id', 'must be a phash: or tcode: identifier', 'id');
      const max = parseDecimal(c.req.query('max'), 'max', { required: false });
      const similar = (ledger as Ledger & { similarWorks?: (id: string, max?: number) => Promise<unknown[]> }).similarWorks;
      if (typeof similar !== 'function') throw new HttpProblem(404, 'not-supported', 'this ledger has no similarity index');
      const matches = await similar.call(ledger, id, max);
      return c.json({ matches });
    },
  });

  route('/works/:id/uses', {
    GET: async (c) => {
      const work = checkWorkId(param(c, 'id'));
      const { uses, next, lineageTruncated } = await ledger.usesOfWork(work, usePageParams(c));
      const current = published();
      const checkpoint = uses[0]?.bundle.checkpoint ?? (current ? noteText(current) : null);
      return jsonAnswer(c, { work, checkpoint, uses, next: formatUseCursor(next), lineageTruncated });
    },
  });

  route('/works/:id/consents', {
    GET: async (c) => {
      const work = checkWorkId(param(c, 'id'));
      const { consents, rulings, next } = await ledger.consentsOfWork(work, consentPageParams(c));
      return jsonAnswer(c, { work, consents, ...(rulings ? { rulings } : {}), next: next === null ? null : String(next) });
    },
  });

  route('/creators/:key/uses', {
    GET: async (c) => {
      const creator = checkKeyRef(param(c, 'key'), 'creator');
      const page = await ledger.usesOfCreator(creator, usePageParams(c));
      const { works, worksTruncated, uses, next, nearCopiesTruncated, lineageTruncated } = page;
      return jsonAnswer(c, { creator, works, worksTruncated, uses, next: formatUseCursor(next), nearCopiesTruncated, lineageTruncated });
    },
  });

  // What the log holds about who is behind a key: the server's claim, checkable by log index.
  route('/identities/:key', {
    GET: async (c) => {
      const key = checkKeyRef(param(c, 'key')) as KeyRef;
      const identity = await ledger.identity?.(key);
      if (identity === undefined) return problemResponse(404, 'unknown-identity', `the log has no creator record, grant or attestation of ${key}`, 'key');
      return jsonAnswer(c, identity);
    },
  });

  route('/models/:builder/:model', {
    GET: async (c) => {
      const builder = checkKeyRef(param(c, 'builder'), 'builder');
      const spec = param(c, 'model');
      const at = spec.lastIndexOf('@');
      if (at <= 0 || at === spec.length - 1) throw new HttpProblem(400, 'bad-model', `must be <name>@<version>, got ${JSON.stringify(spec.slice(0, 80))}`, 'model');
      const name = spec.slice(0, at);
      const version = spec.slice(at + 1);
      const model = await ledger.model(builder, name, version);
      if (model === undefined) return problemResponse(404, 'unknown-model', `no model ${name}@${version} of ${builder} is in the log`, 'model');
      return c.json(model as object);
    },
  });

  // ---- notifications -------------------------------------------------------------------

  route('/events', {
    GET: admitted(eventStreams, opts.trustForwardedFor ?? false, eventsHandler({ ledger, keepaliveMs: opts.keepaliveMs ?? 15_000, shutdown: opts.shutdown, checkKeyRef, checkWorkId })),
  });

  // ---- the creator page ----------------------------------------------------------------

  for (const [path, { file, type }] of Object.entries(WEB_FILES)) {
    route(path, {
      GET: async (c) => {
        const bytes = await readFile(WEB_DIR + file).catch(() => undefined);
        if (!bytes) return problemResponse(404, 'page-not-built', `the creator page is not built (run npm run build): ${file} is missing`);
        return c.body(new Uint8Array(bytes), 200, { 'Content-Type': type, 'Cache-Control': 'no-cache', 'Content-Security-Policy': PAGE_CSP, 'X-Content-Type-Options': 'nosniff' });
      },
    });
  }

  // ---- operations ----------------------------------------------------------------------

  // Degraded (a full disk, say) is still 200: reads are served, and a balancer should not drop
  // the server for what only refuses writes. The failures say what is wrong, for operators.
  route('/healthz', {
    GET: (c) => {
      const stopping = opts.shutdown?.aborted === true;
      const failures = failing();
      const status = stopping ? 'stopping' : failures.length > 0 ? 'degraded' : 'ok';
      return c.json(
        { status, treeSize: publishedSize(), sequenced: log.sequencedSize, indexed: ledger.indexedSize, failing: failures },
        stopping ? 503 : 200,
        { 'Cache-Control': 'no-store' },
      );
    },
  });

  route('/metrics', {
    GET: (c) => c.body(metrics.registry.render(), 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Cache-Control': 'no-store' }),
  });

  route('/stats', {
    GET: async (c) => {
      if (typeof ledger.stats !== 'function') throw new HttpProblem(404, 'not-supported', 'this ledger keeps no statistics');
      return c.json(await ledger.stats(), 200, { 'Cache-Control': 'no-cache' });
    },
  });

  route('/openapi.json', {
    GET: (c) => c.json(openapiDocument),
  });

  return app;
}

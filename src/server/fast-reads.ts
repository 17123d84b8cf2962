/**
 * The hot read paths of a tiled log — GET /checkpoint and GET /tile/… — answered straight on
 * node:http, before the request is turned into a fetch Request for hono. Tile reads are most of
 * a log's traffic (every client and monitor walks them); the general app costs several times
 * more per request. Only plain successes are answered here: anything unusual (HEAD, a query
 * string, a path parseTilePath refuses, a tile outside the published tree) goes to the app,
 * which gives the documented answer or problem.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Log, SignedCheckpoint } from '../log/index.js';
import { TILE_WIDTH, parseTilePath, tileWidthAt } from '../merkle/index.js';

export interface FastReadOptions {
  log: Log;
  /** The checkpoint clients may see (with witnesses: the last one cosigned by the quorum). */
  published: () => SignedCheckpoint | undefined;
  /** Counts answered requests, as the app's own counter does. */
  onAnswered?: () => void;
}

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

const CORS = { 'Access-Control-Allow-Origin': '*', 'Access-Control-Expose-Headers': 'Content-Length,Content-Type,Cache-Control' };

export function withFastReads(app: Listener, opts: FastReadOptions): Listener {
  const answer = (res: ServerResponse, body: Uint8Array, type: string, cache: string) => {
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length, 'Cache-Control': cache, ...CORS });
    res.end(body);
    opts.onAnswered?.();
  };
  return (req, res) => {
    const url = req.url ?? '';
    if (req.method !== 'GET') return app(req, res);
    const current = opts.published();
    // Nothing published yet (witness quorum not reached): the app gives the 503 problem.
    if (!current) return app(req, res);
    if (url === '/checkpoint') return answer(res, current.note, 'text/plain; charset=utf-8', 'no-cache, max-age=1');
    if (!url.startsWith('/tile/')) return app(req, res);
    let coord;
    try {
      coord = parseTilePath(url.slice(1));
    } catch {
      return app(req, res);
    }
    const size = current.checkpoint.size;
    const width = tileWidthAt(coord.level === 'entries' ? 0 : coord.level, coord.index, size);
    if (width < coord.width) return app(req, res);
    opts.log.readTile(coord).then(
      (bytes) => {
        if (!bytes) return app(req, res);
        answer(res, bytes, 'application/octet-stream', coord.width === TILE_WIDTH ? 'public, max-age=31536000, immutable' : 'max-age=1');
      },
      () => app(req, res),
    );
  };
}

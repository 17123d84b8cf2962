/**
 * The witness's HTTP interface on hono (spec/witness.md):
 *   POST /add-checkpoint          C2SP tlog-witness v1.0.0
 *   GET  /checkpoints/<origin>    latest cosigned checkpoint of a log (monitoring)
 *   GET  /                        the witness's cosigner verifier key and trusted origins (JSON)
 * Errors are application/problem+json, except 409, whose body the spec fixes (text/x.tlog.size).
 */
import { Hono } from 'hono';
import type { HttpBindings } from '@hono/node-server';
import { DEFAULT_BODY_PACE, type BodyPace, drainUnreadBody, readLimited } from '../server/body.js';
import { HttpProblem, problemFromError, problemResponse } from '../server/problem.js';
import { WitnessConflictError, WitnessError } from './errors.js';
import { SIZE_CONTENT_TYPE, formatSizeBody } from './protocol.js';
import type { Witness } from './witness.js';

/** 63 proof lines (45 bytes each) plus a checkpoint with up to 100 signature lines fits easily. */
export const MAX_BODY_BYTES = 64 * 1024;
const TEXT = 'text/plain; charset=utf-8';

function errorResponse(err: unknown): Response {
  if (err instanceof WitnessConflictError) {
    return new Response(formatSizeBody(err.latestSize), { status: 409, headers: { 'Content-Type': SIZE_CONTENT_TYPE } });
  }
  if (err instanceof WitnessError) return problemResponse(err.status, err.code, err.message, err.field);
  if (err instanceof HttpProblem) return problemFromError(err);
  console.error('witness: internal error', err);
  return problemResponse(500, 'internal', 'internal server error');
}


/** The origin in `/checkpoints/<origin>`: the rest of the raw path, percent-decoded once. */
function originFromPath(url: string): string | undefined {
  const rest = new URL(url).pathname.slice('/checkpoints/'.length);
  try {
    return decodeURIComponent(rest);
  } catch {
    return undefined;
  }
}

export interface WitnessAppOptions {
  /** Pace of request bodies (idle limit, minimum rate); default that of the ledger server. */
  bodyPace?: BodyPace;
}

export function createWitnessApp(witness: Witness, opts: WitnessAppOptions = {}): Hono<{ Bindings: Partial<HttpBindings> }> {
  const app = new Hono<{ Bindings: Partial<HttpBindings> }>();
  const pace = opts.bodyPace ?? DEFAULT_BODY_PACE;
  // A refused body is read and discarded (bounded) so that its sender can read the refusal.
  app.use('*', drainUnreadBody());

  app.post('/add-checkpoint', async (c) => {
    try {
      // Counted as it arrives: a body is refused the moment it passes the limit, never held whole.
      const body = await readLimited(c.req.raw, MAX_BODY_BYTES, pace, 'too-large');
      const { cosignatures } = await witness.addCheckpoint(body);
      return c.body(cosignatures.join(''), 200, { 'Content-Type': TEXT });
    } catch (e) {
      return errorResponse(e);
    }
  });

  app.get('/checkpoints/*', async (c) => {
    const origin = originFromPath(c.req.url);
    if (!origin) return problemResponse(400, 'malformed-request', 'origin is not valid percent-encoding', 'origin');
    const latest = await witness.latest(origin);
    if (!latest) return problemResponse(404, 'not-found', `no cosigned checkpoint for ${JSON.stringify(origin)}`, 'origin');
    return c.body(latest.note, 200, { 'Content-Type': TEXT, 'Cache-Control': 'no-cache' });
  });

  app.get('/', (c) => c.json({ name: witness.name, verifierKey: witness.verifierKey, origins: witness.origins }));

  app.notFound(() => problemResponse(404, 'not-found', 'no such endpoint'));
  app.onError((e) => errorResponse(e));
  return app;
}

/**
 * The witness's HTTP interface on hono (spec/witness.md):
 *   POST /add-checkpoint          C2SP tlog-witness v1.0.0
 *   GET  /checkpoints/<origin>    latest cosigned checkpoint of a log (monitoring)
 *   GET  /                        the witness's cosigner verifier key and trusted origins (JSON)
 * Errors are application/problem+json, except 409, whose body the spec fixes (text/x.tlog.size).
 */
import { Hono } from 'hono';
import { problemResponse } from '../server/problem.js';
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
  console.error('witness: internal error', err);
  return problemResponse(500, 'internal', 'internal server error');
}

async function readBody(req: Request): Promise<Uint8Array> {
  const declared = Number(req.headers.get('content-length') ?? '0');
  if (declared > MAX_BODY_BYTES) throw new WitnessError(413, 'too-large', `body is larger than ${MAX_BODY_BYTES} bytes`);
  const body = new Uint8Array(await req.arrayBuffer());
  if (body.length > MAX_BODY_BYTES) throw new WitnessError(413, 'too-large', `body is larger than ${MAX_BODY_BYTES} bytes`);
  return body;
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

export function createWitnessApp(witness: Witness): Hono {
  const app = new Hono();

  app.post('/add-checkpoint', async (c) => {
    try {
      const { cosignatures } = await witness.addCheckpoint(await readBody(c.req.raw));
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

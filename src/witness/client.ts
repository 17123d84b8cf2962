/**
 * Talking to a C2SP tlog-witness from a log (or a monitor): fetch only, browser-safe.
 *
 * requestCosignature posts an add-checkpoint request and returns the witness's cosignature lines,
 * or throws a WitnessError: WitnessConflictError (409, carrying the witness's latest size, so the
 * caller can rebuild the proof from there and retry), the spec's other statuses as they came, and
 * status 0 for timeouts and network failures (code `witness-timeout` / `witness-unreachable`).
 * Lines are checked for syntax only: verify them with the witness's key (cosignatureVerifier).
 */
import { parseNote } from '../note/index.js';
import { WitnessConflictError, WitnessError } from './errors.js';
import { type AddCheckpointRequest, formatAddCheckpointRequest, parseSizeBody } from './protocol.js';

const joinUrl = (prefix: string, path: string) => prefix.replace(/\/+$/, '') + path;

async function send(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const name = (e as { name?: string }).name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      throw new WitnessError(0, 'witness-timeout', `no answer from ${url} within ${timeoutMs} ms`);
    }
    throw new WitnessError(0, 'witness-unreachable', `cannot reach ${url}: ${(e as Error).message}`);
  }
}

/** Reads the body under the same deadline the request had (a stalled body is a timeout too). */
async function readText(res: Response, url: string, timeoutMs: number): Promise<string> {
  try {
    return await res.text();
  } catch (e) {
    const name = (e as { name?: string }).name;
    if (name === 'TimeoutError' || name === 'AbortError') throw new WitnessError(0, 'witness-timeout', `no answer from ${url} within ${timeoutMs} ms`);
    throw new WitnessError(0, 'witness-unreachable', `reading the answer of ${url}: ${(e as Error).message}`);
  }
}

/** `detail` of a problem+json body, else the first line of the body. */
function describeRefusal(body: string): string {
  try {
    const p = JSON.parse(body) as { detail?: unknown };
    if (typeof p.detail === 'string') return p.detail;
  } catch {
    // not JSON
  }
  return body.split('\n')[0].slice(0, 200);
}

const REFUSAL_CODES: Record<number, string> = {
  400: 'malformed-request',
  403: 'untrusted-signature',
  404: 'unknown-log',
  409: 'root-conflict',
  422: 'bad-proof',
};

/**
 * POST <prefix>/add-checkpoint. `url` is the witness's submission prefix (e.g.
 * `https://witness.example/`); returns the cosignature lines, each ending in '\n'.
 */
export async function requestCosignature(url: string, req: AddCheckpointRequest, timeoutMs: number): Promise<string[]> {
  const endpoint = joinUrl(url, '/add-checkpoint');
  const body = formatAddCheckpointRequest(req);
  const res = await send(endpoint, { method: 'POST', body, headers: { 'Content-Type': 'text/plain; charset=utf-8' } }, timeoutMs);
  const text = await readText(res, endpoint, timeoutMs);
  if (res.status === 200) return parseCosignatureLines(text, endpoint);
  if (res.status === 409) {
    const size = (res.headers.get('content-type') ?? '').startsWith('text/x.tlog.size') ? parseSizeBody(text) : undefined;
    // A size other than ours means "retry from there"; our own size back means the witness holds
    // a different root at that size: a fork, where retrying cannot help.
    if (size !== undefined && size !== req.oldSize) throw new WitnessConflictError(size);
    if (size !== undefined) throw new WitnessConflictError(size, 'root-conflict', `witness ${endpoint} cosigned a different root at size ${size}`);
  }
  const code = REFUSAL_CODES[res.status] ?? 'witness-error';
  throw new WitnessError(res.status, code, `witness ${endpoint} answered ${res.status}: ${describeRefusal(text)}`);
}

/** Signature lines of a 200 body: one or more, each `— <name> <base64>\n`. */
function parseCosignatureLines(body: string, endpoint: string): string[] {
  try {
    // A note with a placeholder text checks the lines' syntax with the note parser itself.
    return parseNote(`x\n\n${body}`).signatures.map((s) => s.line);
  } catch (e) {
    throw new WitnessError(502, 'bad-witness-response', `witness ${endpoint} sent no valid signature lines: ${(e as Error).message}`);
  }
}

/**
 * GET <prefix>/checkpoints/<origin>: the latest checkpoint the witness cosigned for `origin`
 * (log signatures and the witness's cosignature), or undefined if it never cosigned one.
 */
export async function fetchWitnessedCheckpoint(url: string, origin: string, timeoutMs: number): Promise<string | undefined> {
  const endpoint = joinUrl(url, '/checkpoints/' + encodeURIComponent(origin));
  const res = await send(endpoint, { method: 'GET' }, timeoutMs);
  const text = await readText(res, endpoint, timeoutMs);
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new WitnessError(res.status, 'witness-error', `witness ${endpoint} answered ${res.status}: ${describeRefusal(text)}`);
  return text;
}

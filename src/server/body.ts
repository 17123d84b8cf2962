/**
 * Request bodies on a budget (spec/api.md, "Request bodies"): read with a size limit, a pace (no
 * long silences, and a minimum average rate after a grace period, so that neither a stalled nor
 * a trickled upload holds a connection for long) and, when the answer is given before the body
 * is all in, a bounded drain so that the client can read that answer.
 */
import type { IncomingMessage } from 'node:http';
import type { MiddlewareHandler } from 'hono';
import { HttpProblem } from './problem.js';

/** 30 s: a request body that sends no bytes for this long is refused (408 body-timeout). */
export const BODY_IDLE_TIMEOUT_MS = 30_000;
/** 1 KiB/s: the slowest average rate a body may arrive at once the grace period is over. */
export const BODY_MIN_RATE = 1024;
/** 10 s: how long a body may take before its average rate is held to BODY_MIN_RATE. */
export const BODY_RATE_GRACE_MS = 10_000;
/** 64 MiB: the most of a refused body the server reads (and discards) before it closes. */
export const DRAIN_MAX_BYTES = 64 * 1024 * 1024;
/** 10 s: the longest the server keeps reading a refused body. */
export const DRAIN_TIMEOUT_MS = 10_000;
/** 2 s: a refused body that pauses this long (or the body idle timeout, if shorter) is not waited for. */
export const DRAIN_IDLE_MS = 2_000;

export interface BodyPace {
  /** Longest silence between body bytes, in ms. */
  idleMs: number;
  /** Slowest average rate once `graceMs` is over, in bytes per second; 0: no floor. */
  minBytesPerSecond: number;
  graceMs: number;
}

export const DEFAULT_BODY_PACE: BodyPace = { idleMs: BODY_IDLE_TIMEOUT_MS, minBytesPerSecond: BODY_MIN_RATE, graceMs: BODY_RATE_GRACE_MS };

/**
 * How far one body has come. The clock starts at the first read, not when the request arrived,
 * so that time the server spends before it reads (waiting for a lock, say) is not held against
 * the client.
 */
class BodyClock {
  private start = -1;
  private received = 0;

  constructor(private readonly pace: BodyPace) {}

  /** A read is about to wait: when it is late, and the refusal it then gets. */
  nextDeadline(): { inMs: number; problem: () => HttpProblem } {
    const now = performance.now();
    if (this.start < 0) this.start = now;
    const { idleMs, minBytesPerSecond, graceMs } = this.pace;
    // With the average held to the rate after the grace, the body is late once the time since
    // the start exceeds grace + received / rate: every byte that arrives buys 1/rate seconds.
    const rateDeadline = minBytesPerSecond > 0 ? this.start + graceMs + (this.received * 1000) / minBytesPerSecond : Infinity;
    if (rateDeadline < now + idleMs) {
      return {
        inMs: Math.max(0, rateDeadline - now),
        problem: () => {
          const seconds = (performance.now() - this.start) / 1000;
          return new HttpProblem(
            408,
            'body-too-slow',
            `the body arrived at ${Math.floor(this.received / seconds)} bytes/s (${this.received} bytes in ${seconds.toFixed(1)} s); after the first ${graceMs / 1000} s at least ${minBytesPerSecond} bytes/s on average are required`,
            'body',
            { Connection: 'close' },
          );
        },
      };
    }
    return { inMs: idleMs, problem: () => new HttpProblem(408, 'body-timeout', `no body bytes arrived for ${idleMs} ms`, 'body', { Connection: 'close' }) };
  }

  count(bytes: number): void {
    this.received += bytes;
  }
}

/**
 * One read of a request body, refused with 408 when the body is late (BodyClock); a connection
 * that breaks mid-body is a truncated upload (400), not a server fault.
 */
async function readBodyChunk(reader: ReadableStreamDefaultReader<Uint8Array>, clock: BodyClock): Promise<ReadableStreamReadResult<Uint8Array>> {
  const { inMs, problem } = clock.nextDeadline();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(problem()), inMs);
  });
  const read = reader.read().catch((err: unknown) => {
    throw new HttpProblem(400, 'truncated-body', `the connection broke before the body was complete (${(err as Error)?.message ?? err})`, 'body', { Connection: 'close' });
  });
  try {
    const result = await Promise.race([read, late]);
    if (!result.done) clock.count(result.value.length);
    return result;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads a request body up to `limit` bytes. Beyond it the answer is 413 at once, from the
 * declared Content-Length or, without one, as soon as the count passes the limit; the reader's
 * lock is released so that drainUnreadBody can discard the rest.
 */
export async function readLimited(req: Request, limit: number, pace: BodyPace, code = 'body-too-large'): Promise<Uint8Array> {
  const tooLarge = (detail: string) => new HttpProblem(413, code, detail, 'body', { Connection: 'close' });
  const length = req.headers.get('content-length');
  if (length !== null && /^[0-9]+$/.test(length) && Number(length) > limit) throw tooLarge(`the body is ${length} bytes; at most ${limit} are accepted`);
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const clock = new BodyClock(pace);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await readBodyChunk(reader, clock);
    if (done) break;
    total += value.length;
    if (total > limit) {
      reader.releaseLock();
      throw tooLarge(`the body is over ${limit} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** The request body as chunks, without buffering it, at the pace given. */
export async function* bodyChunks(body: ReadableStream<Uint8Array> | null, pace: BodyPace): AsyncIterable<Uint8Array> {
  if (!body) return;
  const reader = body.getReader();
  const clock = new BodyClock(pace);
  let reading = false;
  try {
    for (;;) {
      reading = true;
      const { done, value } = await readBodyChunk(reader, clock);
      reading = false;
      if (done) return;
      yield value;
    }
  } finally {
    // Whoever stopped early (a bad item) leaves the rest to drainUnreadBody; a read still
    // pending (a timeout) keeps the lock, and the connection is closed instead.
    if (!reading) reader.releaseLock();
  }
}

export interface DrainLimits {
  maxBytes: number;
  maxMs: number;
  /** A pause this long ends the drain. */
  idleMs: number;
}

export const DEFAULT_DRAIN: DrainLimits = { maxBytes: DRAIN_MAX_BYTES, maxMs: DRAIN_TIMEOUT_MS, idleMs: DRAIN_IDLE_MS };

/** Reads and drops what is left of a body, within the limits; never throws. */
async function discard(reader: ReadableStreamDefaultReader<Uint8Array>, limits: DrainLimits): Promise<void> {
  const end = performance.now() + limits.maxMs;
  let total = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    for (;;) {
      const wait = Math.min(limits.idleMs, end - performance.now());
      if (wait <= 0) return;
      const quiet = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), wait);
      });
      const result = await Promise.race([reader.read(), quiet]);
      clearTimeout(timer);
      if (result === undefined || result.done) return;
      total += result.value.length;
      if (total > limits.maxBytes) return;
    }
  } catch {
    // The client went away: nothing left to drain.
  } finally {
    clearTimeout(timer);
  }
}

type NodeEnv = { Bindings: { incoming?: IncomingMessage } };

/**
 * Refusing a body before all of it has arrived (413, 415, 405, a bad query…) and then closing
 * the connection at once makes the kernel answer the bytes still coming with a reset, which can
 * destroy the answer before a client that writes its whole body first (no Expect: 100-continue)
 * reads it (RFC 9112 §9.6). So such an answer is sent at once, complete (Content-Length), with
 * `Connection: close`, but its end — after which Node closes the connection — waits until the
 * rest of the body has been read and discarded, within `limits`. A body declared larger than the
 * drain allows is not waited for. 408s are not drained: their client is the slow one.
 */
export function drainUnreadBody(limits: DrainLimits = DEFAULT_DRAIN): MiddlewareHandler<NodeEnv> {
  return async (c, next) => {
    await next();
    const incoming = c.env?.incoming;
    const status = c.res.status;
    if (!incoming || incoming.complete || status < 400 || status === 408) return;
    const declared = Number(incoming.headers['content-length'] ?? NaN);
    const body = c.req.raw.body;
    const answer = new Uint8Array(await c.res.arrayBuffer());
    const headers = new Headers(c.res.headers);
    headers.set('Connection', 'close');
    headers.set('Content-Length', String(answer.length));
    if (!body || body.locked || declared > limits.maxBytes) {
      c.res = new Response(answer, { status, headers });
      return;
    }
    const drained = discard(body.getReader(), limits);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(answer);
      },
      async pull(controller) {
        await drained;
        controller.close();
      },
    });
    c.res = new Response(stream, { status, headers });
  };
}

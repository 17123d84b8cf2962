/**
 * Admission of long-lived responses (the /events streams, spec/api.md "Notifications"): at most
 * `total` at a time, and at most `perClient` for one client address. An open stream holds a
 * connection, a subscription and a replay for as long as the client likes, so they are counted
 * apart from ordinary requests.
 */
import type { Context } from 'hono';
import type { IncomingMessage } from 'node:http';
import { HttpProblem } from './problem.js';
import { clientKey } from './transport.js';

/** Seconds a refused stream is told to wait (Retry-After). */
export const STREAM_RETRY_AFTER_S = 5;

export class Admission {
  private open = 0;
  private readonly byClient = new Map<string, number>();

  constructor(
    private readonly total: number,
    private readonly perClient: number,
    /** What is counted, for the problem's detail ("event streams"). */
    private readonly what: string,
    private readonly code: string,
  ) {}

  get size(): number {
    return this.open;
  }

  /** Admits one for `client`: its release (idempotent), or a 503 / 429 problem. */
  admit(client: string): () => void {
    const headers = { 'Retry-After': String(STREAM_RETRY_AFTER_S) };
    if (this.open >= this.total) throw new HttpProblem(503, this.code, `the server has ${this.total} ${this.what} open, its limit`, undefined, headers);
    const mine = this.byClient.get(client) ?? 0;
    if (mine >= this.perClient) throw new HttpProblem(429, this.code, `${client} has ${this.perClient} ${this.what} open, the limit per client address`, undefined, headers);
    this.open++;
    this.byClient.set(client, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open--;
      const left = (this.byClient.get(client) ?? 1) - 1;
      if (left === 0) this.byClient.delete(client);
      else this.byClient.set(client, left);
    };
  }
}

type NodeEnv = { Bindings: { incoming?: IncomingMessage } };

/**
 * The client address of a request (clientKey of the socket's peer). With `trustForwardedFor`, the
 * last address of X-Forwarded-For instead — the one the proxy in front of the server added; only
 * for a server that nothing reaches but through that proxy, since anyone can send the header.
 */
export function clientOf(c: Context<NodeEnv>, trustForwardedFor = false): string {
  if (trustForwardedFor) {
    const forwarded = c.req.header('x-forwarded-for');
    const last = forwarded?.split(',').pop()?.trim();
    if (last) return clientKey(last);
  }
  return clientKey(c.env?.incoming?.socket?.remoteAddress);
}

/** A body that calls `done` once, when it ends, fails or its reader cancels it. */
function onEnd(body: ReadableStream<Uint8Array>, done: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await reader.read();
        if (next.done) {
          done();
          controller.close();
        } else {
          controller.enqueue(next.value);
        }
      } catch (err) {
        done();
        controller.error(err);
      }
    },
    async cancel(reason) {
      done();
      await reader.cancel(reason);
    },
  });
}

/**
 * `handler` behind `admission`: admitted before it runs (so a full server refuses before any
 * work), released when its response body ends — the client went away, or the stream was closed.
 */
export function admitted<E extends NodeEnv>(admission: Admission, trustForwardedFor: boolean, handler: (c: Context<E>) => Response | Promise<Response>): (c: Context<E>) => Promise<Response> {
  return async (c) => {
    const release = admission.admit(clientOf(c as unknown as Context<NodeEnv>, trustForwardedFor));
    let res: Response;
    try {
      res = await handler(c);
    } catch (err) {
      release();
      throw err;
    }
    if (!res.body) {
      release();
      return res;
    }
    return new Response(onEnd(res.body, release), { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

/**
 * The HTTP/1.1 listener of the ledger and of the witness, with the transport limits of
 * spec/api.md ("Connections"): a deadline for the request head, keep-alive limits, and caps on
 * open connections, in total and per client address. Slow and idle clients cost a connection
 * each; these bound how many they can hold and for how long.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer, maxHeaderSize } from 'node:http';
import type { Socket } from 'node:net';
import { PROBLEM_CONTENT_TYPE, problemBody } from './problem.js';

export interface TransportLimits {
  /** The whole request head (request line and headers) must arrive within this, in ms. */
  headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this, in ms. */
  keepAliveTimeoutMs: number;
  /** A connection is closed after answering this many requests. */
  maxRequestsPerSocket: number;
  /** Open connections at most; more are answered 503 and closed. */
  maxConnections: number;
  /** Open connections from one client address (clientKey) at most; more are answered 429 and closed. */
  maxConnectionsPerAddress: number;
}

export const DEFAULT_TRANSPORT_LIMITS: TransportLimits = {
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  maxRequestsPerSocket: 1000,
  maxConnections: 1024,
  maxConnectionsPerAddress: 64,
};

/** Seconds a refused client is told to wait (Retry-After). */
export const CONNECTION_RETRY_AFTER_S = 1;
/** A refused connection that sends no request within this is closed without an answer. */
const REFUSED_GRACE_MS = 1000;
/** A socket answered by clientError is destroyed after this even if the client never closes. */
const CLIENT_ERROR_GRACE_MS = 1000;

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The key of a client address for per-client caps: IPv4 as is (IPv4-mapped IPv6 unwrapped), IPv6
 * by its /64 prefix — one host usually holds a whole /64, and counting its addresses one by one
 * would let it multiply its share 2^64 times.
 */
export function clientKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1];
  if (!address.includes(':')) return address;
  const bare = address.replace(/%.*$/, '');
  const [head, tail] = bare.split('::') as [string, string | undefined];
  const groups = (part: string | undefined) => (part ? part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])) : []);
  const left = groups(head);
  const right = groups(tail);
  const full = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${full
    .slice(0, 4)
    .map((g) => (parseInt(g, 16) || 0).toString(16))
    .join(':')}::/64`;
}

/** A complete HTTP/1.1 answer with a problem document, for a socket no response object owns. */
function rawProblem(status: number, reason: string, code: string, detail: string, extra: Record<string, string> = {}): string {
  const body = JSON.stringify(problemBody(status, code, detail));
  const headers = { 'Content-Type': PROBLEM_CONTENT_TYPE, 'Content-Length': String(Buffer.byteLength(body)), Connection: 'close', ...extra };
  return `HTTP/1.1 ${status} ${reason}\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n${body}`;
}

interface Refusal {
  status: 429 | 503;
  detail: string;
}

/**
 * An http.Server for `listener` with `limits` applied. requestTimeout stays 0: a whole-request
 * deadline would cut off large manifest uploads, so bodies are paced by the app instead
 * (body.ts: an idle limit and a minimum average rate).
 */
export function createHttpServer(listener: Listener, limits: Partial<TransportLimits> = {}): Server {
  const l = { ...DEFAULT_TRANSPORT_LIMITS, ...limits };
  const refused = new WeakMap<Socket, Refusal>();
  const inFlight = new WeakMap<Socket, ServerResponse>();

  const server = createServer(
    {
      headersTimeout: l.headersTimeoutMs,
      requestTimeout: 0,
      keepAliveTimeout: l.keepAliveTimeoutMs,
      // Node checks the head deadline only this often (default 30 s, which would let a slow
      // head live up to 40 s instead of 10).
      connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(l.headersTimeoutMs / 4))),
    },
    (req, res) => {
      const refusal = refused.get(req.socket);
      if (refusal) {
        const body = JSON.stringify(problemBody(refusal.status, 'too-many-connections', refusal.detail));
        res.writeHead(refusal.status, { 'Content-Type': PROBLEM_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body), 'Retry-After': String(CONNECTION_RETRY_AFTER_S), Connection: 'close' });
        res.end(body);
        return;
      }
      inFlight.set(req.socket, res);
      res.once('close', () => {
        if (inFlight.get(req.socket) === res) inFlight.delete(req.socket);
        // server.close() closes the connections idle at that moment; one whose answer ends later
        // (an event stream ended by the shutdown) would otherwise wait out its keep-alive timeout.
        if (!server.listening) setImmediate(() => server.closeIdleConnections());
      });
      listener(req, res);
    },
  );
  server.maxRequestsPerSocket = l.maxRequestsPerSocket;
  // A backstop: past twice the cap, connections are closed at accept without an answer, so that
  // even refusals cannot use up the process's file descriptors.
  server.maxConnections = 2 * l.maxConnections;

  let open = 0;
  const perClient = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const key = clientKey(socket.remoteAddress);
    const mine = (perClient.get(key) ?? 0) + 1;
    perClient.set(key, mine);
    open++;
    socket.once('close', () => {
      open--;
      const left = (perClient.get(key) ?? 1) - 1;
      if (left === 0) perClient.delete(key);
      else perClient.set(key, left);
    });
    let refusal: Refusal | undefined;
    if (open > l.maxConnections) refusal = { status: 503, detail: `the server has ${l.maxConnections} connections open, its limit` };
    else if (mine > l.maxConnectionsPerAddress) refusal = { status: 429, detail: `${key} has ${l.maxConnectionsPerAddress} connections open, the limit per client address` };
    if (refusal) {
      refused.set(socket, refusal);
      const timer = setTimeout(() => socket.destroy(), REFUSED_GRACE_MS);
      timer.unref();
      socket.once('close', () => clearTimeout(timer));
    }
  });

  // Node's own answers to a bad or late request head have no body; these are problem documents
  // like every other error. Nothing is written over an answer already under way.
  const answered = new WeakSet<Socket>();
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (answered.has(socket)) return;
    answered.add(socket);
    if (err.code === 'ECONNRESET' || !socket.writable || inFlight.get(socket)?.headersSent) {
      socket.destroy();
      return;
    }
    let answer: string;
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      answer = rawProblem(408, 'Request Timeout', 'header-timeout', `the request line and headers did not arrive within ${l.headersTimeoutMs} ms`);
    } else if (err.code === 'HPE_HEADER_OVERFLOW') {
      answer = rawProblem(431, 'Request Header Fields Too Large', 'headers-too-large', `the request line and headers are over ${maxHeaderSize} bytes`);
    } else {
      answer = rawProblem(400, 'Bad Request', 'bad-http', `the request is not valid HTTP/1.1 (${err.code ?? err.message})`);
    }
    socket.end(answer);
    setTimeout(() => socket.destroy(), CLIENT_ERROR_GRACE_MS).unref();
  });
  return server;
}

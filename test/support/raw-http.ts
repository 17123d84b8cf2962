/**
 * HTTP/1.1 over a bare socket, for clients no HTTP library lets us be: one that trickles its
 * head or body, writes a whole body without reading, holds connections open, or connects from
 * another loopback address (127.0.0.x) to stand for another client.
 */
import { type Socket, connect } from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  /** The body so far (the whole of it when Content-Length says so). */
  body: string;
}

export class RawConnection {
  private buffered = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;
  /** A write failed or the peer reset the connection. */
  error: Error | undefined;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, d]);
      this.wake();
    });
    socket.on('error', (e) => {
      this.error = e;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static open(port: number, localAddress?: string): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1', localAddress });
      socket.once('connect', () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves when `ready` holds (checked on every event), or rejects after `timeoutMs`. */
  private until<T>(ready: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what}: nothing within ${timeoutMs} ms (got ${JSON.stringify(this.buffered.toString('latin1').slice(0, 200))})`)), timeoutMs);
      const check = () => {
        const value = ready();
        if (value !== undefined) {
          clearTimeout(timer);
          resolve(value);
        } else if (this.closed) {
          clearTimeout(timer);
          reject(new Error(`${what}: the connection closed (${this.error?.message ?? 'no error'}; got ${JSON.stringify(this.buffered.toString('latin1').slice(0, 200))})`));
        } else {
          this.waiters.push(check);
        }
      };
      check();
    });
  }

  write(data: string | Uint8Array): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.write(data, () => resolve());
    });
  }

  /**
   * Writes all of `data` before reading anything, as a client without Expect: 100-continue that
   * sends its whole body first does: reading resumes only once the kernel took the last byte.
   * Resolves with the write's error, if any.
   */
  sendThenRead(data: Uint8Array): Promise<Error | undefined> {
    this.socket.pause();
    return new Promise((resolve) => {
      this.socket.write(data, (err) => {
        this.socket.resume();
        resolve(err ?? undefined);
      });
    });
  }

  /**
   * The next answer: its head, and its body once Content-Length bytes are in (or, without a
   * length, whatever arrived until `bodyFor` is satisfied — say, an event stream's first line).
   */
  async answer(timeoutMs = 10_000, bodyFor?: (body: string) => boolean): Promise<RawAnswer> {
    return this.until(
      () => {
        const split = this.buffered.indexOf('\r\n\r\n');
        if (split < 0) return undefined;
        const lines = this.buffered.subarray(0, split).toString('latin1').split('\r\n');
        const headers: Record<string, string> = {};
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(':');
          headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        const rest = this.buffered.subarray(split + 4);
        const length = headers['content-length'];
        let body: Buffer;
        if (length !== undefined) {
          if (rest.length < Number(length)) return undefined;
          body = rest.subarray(0, Number(length));
        } else if (headers['transfer-encoding'] === 'chunked') {
          body = dechunk(rest);
          if (!bodyFor?.(body.toString('utf8'))) return undefined;
        } else {
          body = rest;
          if (bodyFor && !bodyFor(body.toString('utf8'))) return undefined;
        }
        const used = split + 4 + (length !== undefined ? body.length : rest.length);
        this.buffered = this.buffered.subarray(used);
        return { status: Number(lines[0].split(' ')[1]), headers, body: body.toString('utf8') };
      },
      timeoutMs,
      'answer',
    );
  }

  /** Resolves once the server has closed the connection. */
  async closedByServer(timeoutMs = 10_000): Promise<void> {
    await this.until(() => (this.closed ? true : undefined), timeoutMs, 'close').catch((e: Error) => {
      if (!this.closed) throw e;
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** The data of a chunked body so far (complete chunks only). */
function dechunk(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; ; ) {
    const eol = raw.indexOf('\r\n', at);
    if (eol < 0) break;
    const size = parseInt(raw.subarray(at, eol).toString('latin1'), 16);
    if (!size || raw.length < eol + 2 + size) break;
    parts.push(raw.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/** A request head (with a trailing blank line). */
export function head(method: string, path: string, headers: Record<string, string> = {}): string {
  const all = { Host: '127.0.0.1', ...headers };
  return `${method} ${path} HTTP/1.1\r\n${Object.entries(all)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

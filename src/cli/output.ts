/**
 * How commands talk to people and programs: one readable line per error, tables for people,
 * JSON (`--json`) for programs, colour only on a TTY, progress on stderr.
 */
import { isLedgerError } from '../errors.js';

/** A mistake of the user's (bad flag, unreadable file): exit 2 with the message. */
export class UsageError extends Error {}

/** Prints an error as one line on stderr and returns the exit code to use. */
export function reportError(err: unknown): number {
  if (err instanceof UsageError) {
    process.stderr.write(`pvl: ${err.message}\n`);
    return 2;
  }
  if (isLedgerError(err)) {
    process.stderr.write(`pvl: ${err.message}\n`);
    return 1;
  }
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.cause?.code === 'ECONNREFUSED' || e?.code === 'ECONNREFUSED') {
    process.stderr.write(`pvl: cannot reach the server (${e.cause?.message ?? e.message})\n`);
    return 1;
  }
  if (e?.code === 'ENOENT' || e?.code === 'EACCES' || e?.code === 'EISDIR') {
    process.stderr.write(`pvl: ${e.message}\n`);
    return 1;
  }
  process.stderr.write(`pvl: ${e?.message ?? String(err)}\n`);
  if (process.env.PVL_DEBUG) console.error(err);
  return 1;
}

const useColour = () => process.stdout.isTTY === true && !process.env.NO_COLOR;

export const colour = {
  green: (s: string) => (useColour() ? `\x1b[32m${s}\x1b[0m` : s),
  red: (s: string) => (useColour() ? `\x1b[31m${s}\x1b[0m` : s),
  yellow: (s: string) => (useColour() ? `\x1b[33m${s}\x1b[0m` : s),
  bold: (s: string) => (useColour() ? `\x1b[1m${s}\x1b[0m` : s),
  dim: (s: string) => (useColour() ? `\x1b[2m${s}\x1b[0m` : s),
};

/** Prints rows as an aligned table with a header. */
export function printTable(headers: string[], rows: Array<Array<string | number>>): void {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => r.map((v, c) => (c === r.length - 1 ? v : v.padEnd(widths[c]))).join('  ');
  console.log(colour.bold(line(headers)));
  for (const r of cells.slice(1)) console.log(line(r));
}

export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

/**
 * A progress line on stderr, redrawn at most 10 times a second on a TTY; without a TTY one line
 * every 10% so logs stay short.
 */
export class Progress {
  private last = 0;
  private lastDecile = -1;
  private readonly start = performance.now();

  constructor(
    private readonly label: string,
    private readonly total?: number,
    private readonly unit = 'items',
  ) {}

  update(done: number): void {
    const now = performance.now();
    const tty = process.stderr.isTTY === true;
    if (tty) {
      if (now - this.last < 100) return;
      this.last = now;
      process.stderr.write(`\r${this.describe(done)}\x1b[K`);
    } else if (this.total) {
      const decile = Math.floor((done / this.total) * 10);
      if (decile > this.lastDecile) {
        this.lastDecile = decile;
        process.stderr.write(`${this.describe(done)}\n`);
      }
    }
  }

  done(done: number): void {
    if (process.stderr.isTTY) process.stderr.write(`\r${this.describe(done)}\x1b[K\n`);
    else if (!this.total || this.lastDecile < 10) process.stderr.write(`${this.describe(done)}\n`); // 100% already printed otherwise
  }

  private describe(done: number): string {
    const secs = (performance.now() - this.start) / 1000;
    const rate = secs > 0 ? Math.round(done / secs) : 0;
    if (!this.total) return `${this.label}: ${done.toLocaleString('en-US')} ${this.unit} (${rate.toLocaleString('en-US')}/s)`;
    const pct = Math.min(100, (done / this.total) * 100);
    const width = 24;
    const filled = Math.round((pct / 100) * width);
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    return `${this.label} ${bar} ${pct.toFixed(0).padStart(3)}% ${done.toLocaleString('en-US')}/${this.total.toLocaleString('en-US')} ${this.unit} (${rate.toLocaleString('en-US')}/s)`;
  }
}

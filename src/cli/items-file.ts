/**
 * Items files for `pvl use declare` (spec/cli.md): JSON Lines or CSV, one training item per
 * line, read as a stream so any size fits in constant memory.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { isWorkId, type ConsentRef, type UseItem, type WorkId } from '../records/index.js';
import { MANIFEST_BATCH_ITEMS, MANIFEST_ITEM_SIZE, encodeManifestItemInto, encodeSha256ItemInto } from '../records/manifest.js';
import { UsageError } from './output.js';

function consentOf(v: unknown, where: string): ConsentRef {
  if (v === 'none' || v === null || v === undefined || (typeof v === 'object' && (v as { none?: unknown }).none === true)) return { none: true };
  if (typeof v === 'number' || (typeof v === 'string' && /^\d+$/.test(v))) return { index: Number(v) };
  if (typeof v === 'string' && /^[0-9a-f]{64}$/.test(v)) return { leafHash: v };
  if (typeof v === 'object' && v !== null) return v as ConsentRef; // {index} | {leafHash}: checked by the encoder
  throw new UsageError(`${where}: consent must be a log index, a 64-hex leaf hash or none`);
}

function worksOf(v: unknown, where: string): WorkId[] {
  const ids = Array.isArray(v) ? v : typeof v === 'string' ? v.split(/[ ;|]+/).filter(Boolean) : [];
  if (ids.length === 0 || !ids.every(isWorkId)) throw new UsageError(`${where}: work must be one or more work identifiers, got ${JSON.stringify(v)}`);
  return ids as WorkId[];
}

function parseLine(line: string, csv: boolean, where: string): UseItem | undefined {
  if (line.trim() === '') return undefined;
  if (!csv) {
    let o: { work?: unknown; consent?: unknown };
    try {
      o = JSON.parse(line);
    } catch {
      throw new UsageError(`${where}: not JSON`);
    }
    return { work: worksOf(o.work, where), consent: consentOf(o.consent, where) };
  }
  const cells = line.split(',').map((c) => c.trim().replace(/^"|"$/g, ''));
  if (cells.length > 2) throw new UsageError(`${where}: expected two columns work,consent, got ${cells.length}`);
  const [work, consent] = cells;
  if (work === 'work') return undefined; // header row
  return { work: worksOf(work, where), consent: consentOf(consent || 'none', where) };
}

const isCsv = (path: string) => path.toLowerCase().endsWith('.csv');

/** Streams the items of a file; `.csv` files are CSV, anything else JSON Lines. */
export async function* readItems(path: string): AsyncGenerator<UseItem> {
  const csv = isCsv(path);
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    const item = parseLine(line, csv, `${path}:${n}`);
    if (item) yield item;
  }
}

// ---- encoded items ---------------------------------------------------------------------

const LF = 0x0a;
const CR = 0x0d;
const COMMA = 0x2c;
const SHA256_PREFIX = 'sha256:';
/** `sha256:` and 64 hex digits. */
const SHA256_ID_LENGTH = 71;
/** Longest consent index taken on the fast path: 15 digits are always below 2^53. */
const MAX_FAST_DIGITS = 15;

function startsWith(buf: Buffer, at: number, end: number, text: string): boolean {
  if (end - at < text.length) return false;
  for (let i = 0; i < text.length; i++) if (buf[at + i] !== text.charCodeAt(i)) return false;
  return true;
}

/**
 * The consent cell of a fast-path CSV line, in [from, end): an index, undefined for none
 * (`none`, empty, or no cell), or NaN when the line needs the general path.
 */
function fastConsent(buf: Buffer, from: number, end: number): number | undefined {
  if (from === end) return undefined;
  if (buf[from] !== COMMA) return NaN;
  from++;
  if (from === end || (end - from === 4 && startsWith(buf, from, end, 'none'))) return undefined;
  if (end - from > MAX_FAST_DIGITS) return NaN;
  let n = 0;
  for (let i = from; i < end; i++) {
    const digit = buf[i] - 0x30;
    if (digit < 0 || digit > 9) return NaN;
    n = n * 10 + digit;
  }
  return n;
}

/**
 * Encodes the file's items into manifest batches. The common CSV line, `sha256:<hex>` with an
 * index, `none` or nothing as consent, is encoded straight from the file's bytes (a string and
 * two objects per line would cost more than the hashing); every other line takes the general
 * path — parseLine and encodeManifestItemInto, as readItems — so both accept the same lines.
 */
class ItemEncoder {
  /** Full batches not yet taken (a line split by lone CRs can complete more than one). */
  readonly full: Uint8Array[] = [];
  private batch = new Uint8Array(MANIFEST_BATCH_ITEMS * MANIFEST_ITEM_SIZE);
  private filled = 0;
  private encoded = 0;
  private lineNumber = 0;

  constructor(
    private readonly path: string,
    private readonly csv: boolean,
  ) {}

  /** Encodes the line in [start, end) (without its LF). */
  line(buf: Buffer, start: number, end: number): void {
    this.lineNumber++;
    if (end > start && buf[end - 1] === CR) end--; // CRLF
    if (this.fastLine(buf, start, end)) return;
    // A lone CR also ends a line (as readline splits them).
    const texts = buf.toString('utf8', start, end).split('\r');
    texts.forEach((text, i) => this.generalLine(text, i > 0));
  }

  /** The items encoded since the last full batch. */
  rest(): Uint8Array {
    return this.batch.subarray(0, this.filled * MANIFEST_ITEM_SIZE);
  }

  private added(): void {
    this.encoded++;
    if (++this.filled < MANIFEST_BATCH_ITEMS) return;
    this.full.push(this.batch);
    this.batch = new Uint8Array(MANIFEST_BATCH_ITEMS * MANIFEST_ITEM_SIZE);
    this.filled = 0;
  }

  private fastLine(buf: Buffer, start: number, end: number): boolean {
    if (!this.csv || !startsWith(buf, start, end, SHA256_PREFIX) || end - start < SHA256_ID_LENGTH) return false;
    const consent = fastConsent(buf, start + SHA256_ID_LENGTH, end);
    if (Number.isNaN(consent)) return false;
    if (!encodeSha256ItemInto(buf, start + SHA256_PREFIX.length, consent, this.batch, this.filled * MANIFEST_ITEM_SIZE)) return false;
    this.added();
    return true;
  }

  private generalLine(text: string, extraLine: boolean): void {
    if (extraLine) this.lineNumber++;
    const item = parseLine(text, this.csv, `${this.path}:${this.lineNumber}`);
    if (!item) return;
    encodeManifestItemInto(item, this.batch, this.filled * MANIFEST_ITEM_SIZE, `items[${this.encoded}]`);
    this.added();
  }
}

/**
 * Streams the items of a file as encoded manifest items (spec/records.md §4.1), in batches of
 * MANIFEST_BATCH_ITEMS items (the last may be shorter); each batch is the caller's to keep.
 * Reads the same files as readItems, item for item, in constant memory.
 */
export async function* readEncodedItems(path: string): AsyncGenerator<Uint8Array> {
  const encoder = new ItemEncoder(path, isCsv(path));
  let carry: Buffer | undefined;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    const buf = carry ? Buffer.concat([carry, chunk]) : chunk;
    let start = 0;
    for (let end = buf.indexOf(LF, start); end >= 0; end = buf.indexOf(LF, start)) {
      encoder.line(buf, start, end);
      start = end + 1;
      while (encoder.full.length > 0) yield encoder.full.shift()!;
    }
    carry = start < buf.length ? buf.subarray(start) : undefined;
  }
  if (carry) encoder.line(carry, 0, carry.length);
  yield* encoder.full;
  const rest = encoder.rest();
  if (rest.length > 0) yield rest;
}

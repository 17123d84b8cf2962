/**
 * Items files for `pvl use declare` (spec/cli.md): JSON Lines or CSV, one training item per
 * line, read as a stream so any size fits in constant memory.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { isWorkId, type ConsentRef, type UseItem, type WorkId } from '../records/index.js';
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

/** Streams the items of a file; `.csv` files are CSV, anything else JSON Lines. */
export async function* readItems(path: string): AsyncGenerator<UseItem> {
  const csv = path.toLowerCase().endsWith('.csv');
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    const item = parseLine(line, csv, `${path}:${n}`);
    if (item) yield item;
  }
}

/**
 * Record times: RFC 3339 in UTC with a `Z`, whole seconds (`2026-11-23T05:00:00Z`), within
 * [2000-01-01T00:00:00Z, 2100-01-01T00:00:00Z). One instant, one spelling: no offsets, no
 * fractions, so times compare as strings and as numbers alike.
 */
export type RecordTime = string;

const TIME_SHAPE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
export const EARLIEST_TIME = '2000-01-01T00:00:00Z';
export const LATEST_TIME_EXCLUSIVE = '2100-01-01T00:00:00Z';

/** Seconds since the epoch, or undefined if `s` is not a record time (shape, calendar or range). */
export function recordTimeSeconds(s: string): number | undefined {
  if (!TIME_SHAPE.test(s)) return undefined;
  const ms = Date.parse(s);
  // Date.parse rolls 2026-02-30 over to March; the round trip catches impossible dates.
  if (Number.isNaN(ms) || new Date(ms).toISOString() !== `${s.slice(0, 19)}.000Z`) return undefined;
  if (s < EARLIEST_TIME || s >= LATEST_TIME_EXCLUSIVE) return undefined;
  return ms / 1000;
}

export function isRecordTime(s: unknown): s is RecordTime {
  return typeof s === 'string' && recordTimeSeconds(s) !== undefined;
}

/** A Date as a record time (sub-second part dropped). */
export function formatRecordTime(d: Date): RecordTime {
  return `${d.toISOString().slice(0, 19)}Z`;
}

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
  if (s < EARLIEST_TIME || s >= LATEST_TIME_EXCLUSIVE) return undefined;
  const [year, month, day, hour, minute, second] = [s.slice(0, 4), s.slice(5, 7), s.slice(8, 10), s.slice(11, 13), s.slice(14, 16), s.slice(17, 19)].map(Number);
  // Checked field by field (Date.parse would roll 2026-02-30 over to March); this runs for
  // every time in every record, so it avoids building Date objects and ISO strings.
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  return Date.UTC(year, month - 1, day, hour, minute, second) / 1000;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

export function isRecordTime(s: unknown): s is RecordTime {
  return typeof s === 'string' && recordTimeSeconds(s) !== undefined;
}

/** A Date as a record time (sub-second part dropped). */
export function formatRecordTime(d: Date): RecordTime {
  return `${d.toISOString().slice(0, 19)}Z`;
}

/**
 * Record times: RFC 3339 in UTC with a `Z`, whole seconds (`2026-11-23T05:00:00Z`), within
 * [2000-01-01T00:00:00Z, 2100-01-01T00:00:00Z). One instant, one spelling: no offsets, no
 * fractions, so times compare as strings and as numbers alike.
 */
export type RecordTime = string;

export const EARLIEST_TIME = '2000-01-01T00:00:00Z';
export const LATEST_TIME_EXCLUSIVE = '2100-01-01T00:00:00Z';

/** Seconds since the epoch, or undefined if `s` is not a record time (shape, calendar or range). */
export function recordTimeSeconds(s: string): number | undefined {
  // Read digit by digit (this runs for every time in every record): no regex, no substrings,
  // no Date objects. Date.parse would also roll 2026-02-30 over to March.
  if (s.length !== 20 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58 || s.charCodeAt(19) !== 90) {
    return undefined; // not YYYY-MM-DDTHH:MM:SSZ
  }
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  const hour = digits(s, 11, 2);
  const minute = digits(s, 14, 2);
  const second = digits(s, 17, 2);
  if ((year | month | day | hour | minute | second) < 0) return undefined;
  if (year < 2000 || year >= 2100) return undefined; // [EARLIEST_TIME, LATEST_TIME_EXCLUSIVE)
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  return Date.UTC(year, month - 1, day, hour, minute, second) / 1000;
}

/** The decimal value of `count` ASCII digits of `s` from `at`, or -1 if one is not a digit. */
function digits(s: string, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
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

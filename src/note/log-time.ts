/**
 * The checkpoint's time line (spec/notes.md "The time line"): `pvl-time <RFC 3339 seconds>`, an
 * extension line (C2SP tlog-checkpoint) giving the time of the last clock record in the tree.
 * Witnesses cosign it with the rest of the checkpoint, so the log cannot later show the same
 * tree with another time.
 */
import type { Checkpoint } from './checkpoint.js';
import { NoteError } from './errors.js';

export const LOG_TIME_KEYWORD = 'pvl-time';

const RFC3339_SECONDS = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z$/;

/** The extension line for a time (a record time: `2026-12-06T12:00:00Z`). */
export function formatLogTimeLine(time: string): string {
  if (logTimeSeconds(time) === undefined) throw new NoteError('malformed-checkpoint', `a log time must be RFC 3339 UTC with whole seconds, got ${JSON.stringify(time)}`, 'extensions');
  return `${LOG_TIME_KEYWORD} ${time}`;
}

/**
 * The checkpoint's log time, if it has a time line: its text and seconds since the epoch. Throws
 * for a malformed time line or more than one: a checkpoint's time must mean one thing.
 */
export function checkpointLogTime(checkpoint: Checkpoint): { time: string; seconds: number } | undefined {
  const lines = checkpoint.extensions.filter((line) => line === LOG_TIME_KEYWORD || line.startsWith(`${LOG_TIME_KEYWORD} `));
  if (lines.length === 0) return undefined;
  if (lines.length > 1) throw new NoteError('malformed-checkpoint', `checkpoint has ${lines.length} ${LOG_TIME_KEYWORD} lines; at most one is allowed`, 'extensions');
  const time = lines[0].slice(LOG_TIME_KEYWORD.length + 1);
  const seconds = logTimeSeconds(time);
  if (seconds === undefined) throw new NoteError('malformed-checkpoint', `${LOG_TIME_KEYWORD} line must give an RFC 3339 UTC time with whole seconds (2026-12-06T12:00:00Z), got ${JSON.stringify(lines[0])}`, 'extensions');
  return { time, seconds };
}

/** Seconds since the epoch of `YYYY-MM-DDTHH:MM:SSZ` (a real calendar date), else undefined. */
function logTimeSeconds(time: string): number | undefined {
  const m = RFC3339_SECONDS.exec(time);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number);
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const d = new Date(ms);
  // Date.UTC rolls 2026-02-30 over to March: a time that does not round-trip is not a date.
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) return undefined;
  return ms / 1000;
}

/**
 * The trusted-time checks of `pvl audit` (spec/policy.md "The clock", spec/cli.md): the log
 * key's clock records never go back, the checkpoint's `pvl-time` line is the time of the last of
 * them in the tree, and how many uses were judged by logged time rather than by their claim.
 */
import { type Checkpoint, checkpointLogTime, NoteError } from '../note/index.js';
import type { KeyRef, ParsedRecord } from '../records/index.js';
import { printTable } from './output.js';

/** A violation, with what shows it. */
export interface ClockFault {
  kind: 'clock-went-back' | 'checkpoint-time-mismatch';
  detail: string;
  /** The clock record at fault (clock-went-back), and the one before it. */
  index?: number;
  time?: string;
  previous?: { index: number; time: string };
  /** The checkpoint's time line (checkpoint-time-mismatch), and the last clock record in the tree. */
  checkpointTime?: string | null;
  lastClock?: { index: number; time: string } | null;
}

export interface ClockAuditReport {
  /** Clock records by the log's key. */
  clockRecords: number;
  lastClock: { index: number; time: string } | null;
  checkpointTime: string | null;
  /** Training uses judged by their logged time, and by their claimed time (logged before the first clock record). */
  usesByLoggedTime: number;
  usesByClaimedTime: number;
  faults: ClockFault[];
}

/** Follows the records applied in log order; `finish` checks the checkpoint and returns the report. */
export class ClockAudit {
  private clockRecords = 0;
  private last: { index: number; time: string } | undefined;
  private readonly faults: ClockFault[] = [];
  private byLogged = 0;
  private byClaimed = 0;

  constructor(private readonly logKey: KeyRef) {}

  record(index: number, record: ParsedRecord): void {
    const p = record.payload;
    if (p.type !== 'clock' || p.author !== this.logKey) return;
    this.clockRecords++;
    const previous = this.last;
    if (previous && p.time < previous.time) {
      this.faults.push({ kind: 'clock-went-back', detail: `clock record ${index} says ${p.time}, before ${previous.time} of clock record ${previous.index}`, index, time: p.time, previous });
    }
    this.last = { index, time: p.time };
  }

  /** One training use judged: by logged time if it has one. */
  use(loggedAt: string | undefined): void {
    if (loggedAt === undefined) this.byClaimed++;
    else this.byLogged++;
  }

  finish(checkpoint: Checkpoint): ClockAuditReport {
    const line = this.checkpointTime(checkpoint);
    const lastClock = this.last ?? null;
    if (line !== (lastClock?.time ?? null)) {
      const says = line === null ? 'has no pvl-time line' : `says pvl-time ${line}`;
      const clock = lastClock ? `the last clock record in the tree (index ${lastClock.index}) says ${lastClock.time}` : 'the tree has no clock record';
      this.faults.push({ kind: 'checkpoint-time-mismatch', detail: `the checkpoint of size ${checkpoint.size} ${says}, but ${clock}`, checkpointTime: line, lastClock });
    }
    return { clockRecords: this.clockRecords, lastClock, checkpointTime: line, usesByLoggedTime: this.byLogged, usesByClaimedTime: this.byClaimed, faults: [...this.faults] };
  }

  private checkpointTime(checkpoint: Checkpoint): string | null {
    try {
      return checkpointLogTime(checkpoint)?.time ?? null;
    } catch (e) {
      if (!(e instanceof NoteError)) throw e;
      this.faults.push({ kind: 'checkpoint-time-mismatch', detail: `the checkpoint of size ${checkpoint.size}: ${e.message}`, checkpointTime: null, lastClock: this.last ?? null });
      return null;
    }
  }
}

export function printClockAudit(report: ClockAuditReport): void {
  console.log('\nlogged time (the log\'s clock records):');
  const last = report.lastClock ? `${report.lastClock.time} (index ${report.lastClock.index})` : 'none';
  printTable(
    ['check', 'value'],
    [
      ['clock records', report.clockRecords],
      ['last clock record', last],
      ['checkpoint pvl-time', report.checkpointTime ?? 'none'],
      ['uses judged by logged time', report.usesByLoggedTime],
      ['uses judged by claimed time (before the first clock record)', report.usesByClaimedTime],
    ],
  );
  if (report.faults.length === 0) console.log('  clock: no faults');
  for (const fault of report.faults) console.log(`  FAULT ${fault.kind}: ${fault.detail}`);
}

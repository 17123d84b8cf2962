/**
 * The detail sections of `pvl audit` (spec/cli.md): uses without valid consent by builder and
 * model, disputed works, overdue retirements. Collected item by item while the audit judges, then
 * rendered as tables or returned as JSON.
 */
import type { ConsentPolicy, Judgement, Verdict } from '../policy/index.js';
import type { TrainingUseRecord, UseItem } from '../records/index.js';
import { printTable } from './output.js';

export interface UnconsentedRow {
  builder: string;
  /** `name@version`. */
  model: string;
  uses: number;
  items: number;
  verdicts: Partial<Record<Verdict, number>>;
}

export interface DisputedWorkRow {
  /** The work's `sha256:` identifier. */
  work: string;
  claimants: string[];
  items: number;
}

export interface OverdueRetirementRow {
  builder: string;
  model: string;
  grant: number;
  retireBy: string;
  items: number;
}

export interface AuditReport {
  unconsented: UnconsentedRow[];
  disputedWorks: DisputedWorkRow[];
  overdueRetirements: OverdueRetirementRow[];
}

const modelName = (r: TrainingUseRecord) => `${r.model.name}@${r.model.version}`;

/** Collects the report while items are judged; `add` once per judged item. */
export class AuditReportCollector {
  private readonly unconsented = new Map<string, UnconsentedRow & { useSet: Set<number> }>();
  private readonly disputed = new Map<string, DisputedWorkRow>();
  private readonly overdue = new Map<string, OverdueRetirementRow>();
  private lastRow: { useIndex: number; row: UnconsentedRow } | undefined;

  constructor(private readonly policy: ConsentPolicy) {}

  add(useIndex: number, record: TrainingUseRecord, item: UseItem, j: Judgement): void {
    if (j.verdict === 'consented') return;
    this.addUnconsented(useIndex, record, j.verdict);
    if (j.verdict === 'disputed') this.addDisputed(item, j);
    if (j.verdict === 'retention-overdue') this.addOverdue(record, j);
  }

  private addUnconsented(useIndex: number, record: TrainingUseRecord, verdict: Verdict): void {
    const row = this.unconsentedRow(useIndex, record);
    row.items++;
    row.verdicts[verdict] = (row.verdicts[verdict] ?? 0) + 1;
  }

  /** The row of a use's (builder, model); the last one is kept, since a manifest's millions of items come one use at a time. */
  private unconsentedRow(useIndex: number, record: TrainingUseRecord): UnconsentedRow {
    if (this.lastRow?.useIndex === useIndex) return this.lastRow.row;
    const key = `${record.author} ${modelName(record)}`;
    let row = this.unconsented.get(key);
    if (!row) this.unconsented.set(key, (row = { builder: record.author, model: modelName(record), uses: 0, items: 0, verdicts: {}, useSet: new Set() }));
    row.useSet.add(useIndex);
    row.uses = row.useSet.size;
    this.lastRow = { useIndex, row };
    return row;
  }

  private addDisputed(item: UseItem, j: Judgement): void {
    const work = item.work.find((id) => id.startsWith('sha256:')) ?? item.work[0];
    const row = this.disputed.get(work) ?? { work, claimants: [], items: 0 };
    // Later uses may see more claimants of the same work: keep them all, first seen first.
    for (const c of j.claimants) if (!row.claimants.includes(c)) row.claimants.push(c);
    row.items++;
    this.disputed.set(work, row);
  }

  private addOverdue(record: TrainingUseRecord, j: Judgement): void {
    const grant = j.consentIndex ?? -1;
    const key = `${record.author} ${modelName(record)} ${grant}`;
    const retireBy = this.policy.grant(grant)?.record.retireBy ?? '';
    const row = this.overdue.get(key) ?? { builder: record.author, model: modelName(record), grant, retireBy, items: 0 };
    row.items++;
    this.overdue.set(key, row);
  }

  /** The report, each section sorted so the same log always gives the same document. */
  finish(): AuditReport {
    const byText = <T>(key: (r: T) => string) => (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
    return {
      unconsented: [...this.unconsented.values()].map(({ useSet: _, ...row }) => row).sort(byText((r) => `${r.builder} ${r.model}`)),
      disputedWorks: [...this.disputed.values()].sort(byText((r) => r.work)),
      overdueRetirements: [...this.overdue.values()].sort(byText((r) => `${r.builder} ${r.model} ${String(r.grant).padStart(16, '0')}`)),
    };
  }
}

const short = (key: string) => (key.length > 24 ? `${key.slice(0, 20)}…${key.slice(-4)}` : key);

/** Prints the three sections as tables (nothing for an empty section but one line saying so). */
export function printAuditReport(report: AuditReport): void {
  console.log('\nuses without valid consent, by builder and model:');
  if (report.unconsented.length === 0) console.log('  none');
  else {
    printTable(
      ['builder', 'model', 'uses', 'items', 'verdicts'],
      report.unconsented.map((r) => [short(r.builder), r.model, r.uses, r.items, Object.entries(r.verdicts).map(([v, n]) => `${v} ${n}`).join(', ')]),
    );
  }
  console.log('\ndisputed works:');
  if (report.disputedWorks.length === 0) console.log('  none');
  else printTable(['work', 'claimants', 'items'], report.disputedWorks.map((r) => [r.work, r.claimants.map(short).join(', '), r.items]));
  console.log('\noverdue retirements:');
  if (report.overdueRetirements.length === 0) console.log('  none');
  else printTable(['builder', 'model', 'grant', 'retire by', 'items'], report.overdueRetirements.map((r) => [short(r.builder), r.model, r.grant, r.retireBy, r.items]));
}

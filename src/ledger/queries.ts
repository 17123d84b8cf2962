/**
 * The read side of the ledger: uses of works and creators, consents, models. Lists come from the
 * query index (log order, entries below N); statuses and verdicts from the consent policy, judged
 * at the ledger's clock.
 */
import type { ConsentPolicy } from '../policy/index.js';
import type { KeyRef } from '../records/index.js';
import type { KeyValueSpace, LogStore } from '../store/index.js';
import { TAG, prefixRange, readU64, workPrefix } from './keys.js';
import type { ReportBuilder, UseRef } from './reports.js';
import { parseTrusted } from './trusted.js';
import type { UseReport } from './types.js';

export interface QuerySources {
  space: KeyValueSpace;
  store: LogStore;
  policy: ConsentPolicy;
  reports: ReportBuilder;
  now: () => number;
  /** Entries [0, indexed()) are in the query index. */
  indexed: () => number;
}

export class LedgerQueries {
  private readonly space: KeyValueSpace;
  private readonly policy: ConsentPolicy;
  private readonly reports: ReportBuilder;

  constructor(private readonly src: QuerySources) {
    this.space = src.space;
    this.policy = src.policy;
    this.reports = src.reports;
  }

  /** (useIndex, position) of items naming `workId`, in log order, after `after` if given. */
  private async useRefs(workId: string, after: UseRef | null = null): Promise<UseRef[]> {
    const prefix = workPrefix(TAG.workUse, workId);
    const range = prefixRange(prefix);
    const refs: UseRef[] = [];
    for await (const [key] of this.space.range(range)) {
      const ref = { useIndex: readU64(key, prefix.length), position: readU64(key, prefix.length + 8) };
      if (!after || compareRefs(ref, after) > 0) refs.push(ref);
    }
    return refs;
  }

  /** Reports in the order of `refs`; built concurrently, so the store's reads overlap. */
  private async reportsFor(refs: Array<UseRef & { work: string }>): Promise<UseReport[]> {
    return (await Promise.all(refs.map((ref) => this.reports.reports(ref, ref.work)))).flat();
  }

  async usesOfWork(workId: string): Promise<UseReport[]> {
    return this.reportsFor((await this.useRefs(workId)).map((r) => ({ ...r, work: workId })));
  }

  async consentsOfWork(workId: string): Promise<Array<{ index: number; author: string; record: unknown; status: string }>> {
    const prefix = workPrefix(TAG.workConsent, workId);
    const statuses = new Map(this.policy.consentsOfWork(workId, new Date(this.src.now())).map((c) => [c.index, c.status]));
    const out = [];
    for await (const [key] of this.space.range(prefixRange(prefix))) {
      const index = readU64(key, prefix.length);
      const [entry] = await this.src.store.readEntries(index, 1);
      const record = parseTrusted(entry);
      if (!record) continue;
      out.push({ index, author: record.author, record: record.payload, status: statuses.get(index) ?? 'active' });
    }
    return out;
  }

  async usesOfCreator(creatorKey: string): Promise<{ works: string[]; uses: UseReport[] }> {
    const works = this.policy.worksOf(creatorKey as KeyRef);
    return { works, uses: await this.usesSince({ works }, null) };
  }

  async usesSince(filter: { creator?: string; works?: string[] }, after: UseRef | null): Promise<UseReport[]> {
    const works = filter.works ?? (filter.creator ? this.policy.worksOf(filter.creator as KeyRef) : []);
    const byRef = new Map<string, UseRef & { work: string }>();
    const refsByWork = await Promise.all(works.map((work) => this.useRefs(work, after)));
    for (const [i, work] of works.entries()) {
      for (const ref of refsByWork[i]) {
        const key = `${ref.useIndex}.${ref.position}`;
        if (!byRef.has(key)) byRef.set(key, { ...ref, work });
      }
    }
    return this.reportsFor([...byRef.values()].sort(compareRefs));
  }

  async model(builder: string, name: string, version: string): Promise<unknown | undefined> {
    const id = `${builder}/${name}@${version}`;
    const view = this.policy.model(id);
    if (!view) return undefined;
    const visible = (index: number) => index < this.src.indexed();
    const uses = view.uses.filter(visible).map((index) => {
      const record = this.policy.use(index)!.record;
      return { index, items: record.items?.length ?? record.manifest!.count, manifest: record.manifest ?? null };
    });
    const edge = (e: { lineageIndex: number; parent: string; child: string; relation: string }) => ({ index: e.lineageIndex, parent: e.parent, child: e.child, relation: e.relation });
    const retired = view.retired && visible(view.retired.index) ? { index: view.retired.index, time: view.retired.effective, status: view.retired.status } : null;
    return { model: id, uses, parents: view.parents.filter((e) => visible(e.lineageIndex)).map(edge), children: view.children.filter((e) => visible(e.lineageIndex)).map(edge), retired };
  }
}

function compareRefs(a: UseRef, b: UseRef): number {
  return a.useIndex - b.useIndex || a.position - b.position;
}

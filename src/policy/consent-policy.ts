/**
 * The consent policy engine (spec/policy.md): fed the log in order, it judges every
 * training-use item and answers the server's questions about works, creators and models.
 * Deterministic: the same log gives the same answers everywhere, browser included.
 */
import { type Hasher, defaultHasher } from '../merkle/index.js';
import {
  type ConsentGrantRecord,
  type ConsentRevocationRecord,
  type CreatorRecord,
  type KeyRef,
  type ModelId,
  type ModelLineageRecord,
  type ModelRetirementRecord,
  type ParsedRecord,
  type RecordPayload,
  type RecordRef,
  type TrainingUseRecord,
  type UseItem,
  type WorkId,
  RecordError,
  formatModelId,
  formatRecordTime,
  isRecordTime,
  useItemSchema,
} from '../records/index.js';
import { parseWith } from '../records/validate.js';
import { type JudgedModel, type NearGrant, type PolicyView, judge } from './judge.js';
import { type PolicyFacts, MemoryFacts } from './facts.js';
import { Interner } from './interner.js';
import { type GrantState, type LineageEdge, type UseState, newGrantState, newUseState, revocationBinds } from './state.js';
import { type Judgement, PolicyError } from './verdicts.js';

export interface JudgeOptions {
  /** The time at which retention deadlines are judged (the only wall-clock input). */
  now: Date | string;
  /** Judge for this model instead of the use's own; it must derive from the use's model. */
  model?: ModelId;
  /**
   * Judge from the records logged before this log index only (retirements logged later do not
   * count), so the verdict never changes as the log grows. Default: every record applied.
   */
  before?: number;
}

export interface ItemJudgement extends Judgement {
  position: number;
}

export type ConsentStatus = 'active' | 'revoked' | 'superseded' | 'expired';

export interface ModelView {
  id: ModelId;
  /** Training-use records declared for this model. */
  uses: number[];
  parents: LineageEdge[];
  children: LineageEdge[];
  retired: { index: number; effective: string; status: 'retired' | 'destroyed' } | null;
}

export interface DerivedModel {
  model: ModelId;
  /** The lineage records from the ancestor to this model, in path order. */
  path: number[];
}

/**
 * Whom a verifier trusts (its trust policy, spec/policy.md "Trust"): the server has none, so its
 * verdicts back no identity; `pvl audit --trust FILE`, verify, watch and the page pass theirs.
 */
export interface TrustView {
  /** Attester keys whose attestations and rulings this verifier accepts. */
  attesters: ReadonlySet<KeyRef>;
  /** Identities whose domain or profile evidence the verifier fetched and checked. */
  backed?: ReadonlySet<KeyRef>;
}

export class ConsentPolicy implements PolicyView {
  private readonly hasher: Hasher;
  /** The verifier's trust policy; none on the server. */
  readonly trust: TrustView | undefined;
  private lastIndex: number;
  private readonly facts: PolicyFacts;
  private readonly interner = new Interner();

  /**
   * `hasher` computes leaf hashes for `{leafHash}` references; pass nodeHasher on the server.
   * `facts` is where the policy keeps what it learns (default: in memory); `size` is how much of
   * the log they already cover (facts kept in a store outlive the process).
   */
  constructor(opts: { hasher?: Hasher; facts?: PolicyFacts; size?: number; trust?: TrustView } = {}) {
    this.hasher = opts.hasher ?? defaultHasher;
    this.trust = opts.trust;
    this.facts = opts.facts ?? new MemoryFacts();
    this.lastIndex = (opts.size ?? 0) - 1;
  }

  /** One past the last index applied. */
  get size(): number {
    return this.lastIndex + 1;
  }

  // ---- feeding the log ---------------------------------------------------------------

  /**
   * Applies the record at log `index`. Indexes must increase; gaps are entries that are not
   * records (the caller skips them). A record the policy cannot honour (a revocation by the
   * wrong creator, say) is remembered but has no effect, as spec/policy.md says for each case.
   *
   * Everything is read before anything is written, so a FactMissing thrown by the facts leaves
   * the policy as it was.
   */
  apply(index: number, record: ParsedRecord): void {
    if (!Number.isSafeInteger(index) || index <= this.lastIndex) {
      throw new PolicyError('out-of-order', `records must be applied in log order: got index ${index} after ${this.lastIndex}`, 'index');
    }
    const payload = this.shareRepeated(record.payload);
    const write = this.changesOf(index, payload);
    this.lastIndex = index;
    this.facts.addRecord(index, payload.type, () => this.hasher.hashLeaf(record.entryBytes));
    write();
  }

  /** The changes applying `payload` at `index` makes, with everything they depend on read. */
  private changesOf(index: number, payload: RecordPayload): () => void {
    switch (payload.type) {
      case 'creator':
        return this.applyCreator(index, payload);
      case 'consent-grant':
        return this.applyGrant(index, payload);
      case 'consent-revocation':
        return this.applyRevocation(index, payload);
      case 'training-use':
        return this.applyUse(index, payload);
      case 'model-lineage':
        return this.applyLineage(index, payload);
      case 'model-retirement':
        return this.applyRetirement(index, payload);
    }
  }

  private applyCreator(index: number, record: CreatorRecord): () => void {
    const from = record.rotation && !this.rotationProblem(record) ? record.rotation.from : undefined;
    const identity = from && this.identityOf(from);
    return () => {
      if (from && identity) {
        this.facts.setIdentity(record.author, identity);
        this.facts.setRotation(from, { rotationIndex: index, to: record.author });
      }
      this.facts.addCreatorKey(record.author);
    };
  }

  /**
   * The payload with its commonest repeated parts shared with earlier records (Interner): the
   * author key, times, and a grant's stipulations. Equal values, so nothing observable changes;
   * it is what the policy keeps, for every record, for as long as it lives.
   */
  private shareRepeated<P extends RecordPayload>(payload: P): P {
    const shared = this.interner;
    payload.author = shared.string(payload.author);
    payload.time = shared.string(payload.time);
    if (payload.type === 'consent-grant') {
      payload.uses = shared.value(payload.uses);
      payload.licensees = shared.value(payload.licensees);
      payload.validFrom = shared.string(payload.validFrom);
      if (payload.validUntil !== undefined) payload.validUntil = shared.string(payload.validUntil);
      if (payload.retireBy !== undefined) payload.retireBy = shared.string(payload.retireBy);
      if (payload.compensation !== undefined) payload.compensation = shared.value(payload.compensation);
    }
    return payload;
  }

  private applyGrant(index: number, record: ConsentGrantRecord): () => void {
    const grant = newGrantState(index, record, this.identityOf(record.author), this.facts.rotation(record.author));
    const replaced = record.supersedes && !this.supersessionProblem(record) ? this.facts.grant(this.indexOfRef(record.supersedes)!)! : undefined;
    return () => {
      if (replaced) grant.supersedes = replaced.index;
      this.facts.addGrant(grant);
      this.facts.addCreatorKey(record.author);
      if (replaced) this.facts.updateGrant({ ...replaced, supersededBy: index });
    };
  }

  private applyRevocation(index: number, record: ConsentRevocationRecord): () => void {
    const grant = this.revocationProblem(record) ? undefined : this.facts.grant(this.indexOfRef(record.grant)!)!;
    return () => {
      this.facts.addCreatorKey(record.author);
      if (!grant) return;
      const revocation = { index, author: record.author, effective: record.effective, immediate: record.effective <= record.time };
      this.facts.updateGrant({ ...grant, revocations: [...(grant.revocations ?? []), revocation] });
    };
  }

  private applyUse(index: number, record: TrainingUseRecord): () => void {
    const use = newUseState(index, record);
    return () => this.facts.addUse(use);
  }

  private applyLineage(index: number, record: ModelLineageRecord): () => void {
    const child = formatModelId({ builder: record.author, ...record.model });
    const parent = formatModelId(record.parent);
    const edge: LineageEdge = { lineageIndex: index, parent, child, relation: record.relation };
    return () => this.facts.addLineage(edge);
  }

  private applyRetirement(index: number, record: ModelRetirementRecord): () => void {
    const model = formatModelId({ builder: record.author, ...record.model });
    return () => this.facts.addRetirement(model, { index, effective: record.effective, status: record.status });
  }

  // ---- admission (log-level checks the server makes before appending) ---------------

  /**
   * Why appending `record` now would break a log-level rule, or undefined. These are the checks
   * a single record cannot make on its own: revocations only of a grant in force and by its
   * creator's current key, supersession only of one's own unreplaced grant and by one's current
   * key, consent references to grants already in the log, rotations of keys not yet rotated to
   * fresh keys.
   */
  admissionProblem(record: ParsedRecord): RecordError | undefined {
    const p = record.payload;
    const problem = (field: string, reason: string | undefined) => (reason ? new RecordError('not-admissible', reason, field) : undefined);
    switch (p.type) {
      case 'creator':
        return problem(this.rotationProblemField(p), this.rotationProblem(p));
      case 'consent-grant':
        return problem('payload.supersedes', this.supersessionProblem(p));
      case 'consent-revocation':
        return problem('payload.grant', this.revocationProblem(p));
      case 'training-use':
        return this.itemRefsProblem(p);
      default:
        return undefined;
    }
  }

  private rotationProblemField(record: CreatorRecord): string {
    return this.facts.isCreatorKey(record.author) ? 'payload.author' : 'payload.rotation.from';
  }

  private rotationProblem(record: CreatorRecord): string | undefined {
    if (!record.rotation) return undefined;
    if (this.facts.isCreatorKey(record.author)) return `the new key ${record.author} has already signed creator records; rotate to a fresh key`;
    const earlier = this.facts.rotation(record.rotation.from);
    if (earlier) return `${record.rotation.from} was already rotated to ${earlier.to} at index ${earlier.rotationIndex}`;
    return undefined;
  }

  private supersessionProblem(record: ConsentGrantRecord): string | undefined {
    if (!record.supersedes) return undefined;
    const target = this.grantRefProblem(record.supersedes);
    if (typeof target === 'string') return target;
    if (target.identity !== this.identityOf(record.author)) return `grant ${target.index} is by another creator (${target.identity})`;
    const rotation = this.facts.rotation(record.author);
    if (rotation) return `${record.author} was rotated to ${rotation.to} at index ${rotation.rotationIndex}; supersede with the new key`;
    if (target.supersededBy !== undefined) return `grant ${target.index} was already superseded by grant ${target.supersededBy}; supersede that one`;
    return undefined;
  }

  private revocationProblem(record: ConsentRevocationRecord): string | undefined {
    const target = this.grantRefProblem(record.grant);
    if (typeof target === 'string') return target;
    if (target.identity !== this.identityOf(record.author)) return `grant ${target.index} is by ${target.author}; only its creator can revoke it`;
    const rotation = this.facts.rotation(record.author);
    if (rotation) return `${record.author} was rotated to ${rotation.to} at index ${rotation.rotationIndex}; revoke with the new key`;
    // Refused rather than applied down the chain: the creator may not know that the grant was
    // replaced, and revoking terms they did not name could withdraw more than they meant.
    if (target.supersededBy !== undefined) {
      const inForce = this.lastOfChain(target);
      return `grant ${target.index} was superseded by grant ${target.supersededBy}${inForce === target.supersededBy ? '' : ` (in force now: grant ${inForce})`}; revoke grant ${inForce}`;
    }
    return undefined;
  }

  /** The last grant of the supersession chain through `grant`: the one in force at the end of the log. */
  private lastOfChain(grant: GrantState): number {
    let last = grant;
    while (last.supersededBy !== undefined) last = this.facts.grant(last.supersededBy)!;
    return last.index;
  }

  /** The grant a reference names, or why it names none. */
  private grantRefProblem(ref: RecordRef): GrantState | string {
    const resolved = this.resolveRef(ref);
    if ('problem' in resolved) return resolved.problem;
    return this.facts.grant(resolved.index) ?? `log entry ${resolved.index} is ${this.describeEntry(resolved.index)}, not a consent grant`;
  }

  private itemRefsProblem(record: TrainingUseRecord): RecordError | undefined {
    for (const [position, item] of (record.items ?? []).entries()) {
      if ('none' in item.consent) continue;
      const target = this.grantRefProblem(item.consent);
      if (typeof target === 'string') return new RecordError('not-admissible', target, `payload.items[${position}].consent`);
    }
    return undefined;
  }

  // ---- PolicyView --------------------------------------------------------------------

  private indexOfRef(ref: RecordRef): number | undefined {
    if ('leafHash' in ref) return this.facts.indexOfLeafHash(ref.leafHash);
    return this.describedType(ref.index) !== undefined ? ref.index : undefined;
  }

  resolveRef(ref: RecordRef): { index: number } | { problem: string } {
    const index = this.indexOfRef(ref);
    if (index !== undefined) return { index };
    return { problem: 'index' in ref ? `log entry ${ref.index} is not a record in the log` : `no record in the log has leaf hash ${ref.leafHash}` };
  }

  grant(index: number): GrantState | undefined {
    return this.facts.grant(index);
  }

  /** The type of the record at `index` if the policy has applied one there. */
  private describedType(index: number) {
    return Number.isSafeInteger(index) && index >= 0 && index < this.size ? this.facts.recordType(index) : undefined;
  }

  describeEntry(index: number): string {
    const type = this.describedType(index);
    return type ? `a ${type} record` : 'not a record';
  }

  /** The creator identity a key belongs to: the first key of its rotation chain. */
  identityOf(key: KeyRef): KeyRef {
    return this.facts.identityOf(key) ?? key;
  }

  /**
   * Who has claimed an item's work as of log position `before`, withdrawn grants included (who
   * is told of a use: a creator who revoked still wants to see uses of their work): the
   * creators of grants logged earlier naming its sha256; failing those, the creator of the
   * earliest grant naming one of its perceptual identifiers. claimantsFor says who claims it
   * for judging a use.
   */
  claimants(item: UseItem, before: number): KeyRef[] {
    return this.claimantsWhere(item, before, () => true);
  }

  /**
   * The creators whose grants claim an item's work for the use (spec/policy.md §2, Claims): as
   * `claimants` at the use's log position, counting only claims still in force for it. So a
   * creator who withdraws a grant stops making uses of the work `disputed`.
   */
  claimantsFor(item: UseItem, use: UseState): KeyRef[] {
    return this.claimantsWhere(item, use.index, (grant, id) => this.claimsFor(grant, id, use));
  }

  /**
   * Whether `grant` still claims `id` for the use: through the supersessions logged before the
   * use, every grant names `id`, and the last is not revoked for the use. The claim keeps the
   * position of the grant that started it, so that changing one's terms does not put one behind
   * a later claimant.
   */
  private claimsFor(grant: GrantState, id: string, use: UseState): boolean {
    let last = grant;
    while (last.supersededBy !== undefined && last.supersededBy < use.index) {
      last = this.facts.grant(last.supersededBy)!;
      if (!last.ids.has(id)) return false;
    }
    return !last.revocations?.some((r) => revocationBinds(r, use.index, use.record.time));
  }

  private claimantsWhere(item: UseItem, before: number, inForce: (g: GrantState, id: string) => boolean): KeyRef[] {
    const sha256 = item.work.find((id) => id.startsWith('sha256:'))!;
    const byBytes = [...new Set(this.claimingGrants(sha256, before, inForce).map((g) => g.identity))];
    if (byBytes.length > 0) return byBytes;
    let earliest: { index: number; identity: KeyRef } | undefined;
    for (const id of item.work) {
      if (id === sha256) continue;
      const first = this.claimingGrants(id, before, inForce)[0];
      if (first && (!earliest || first.index < earliest.index)) earliest = first;
    }
    return earliest ? [earliest.identity] : [];
  }

  private claimingGrants(id: string, before: number, inForce: (g: GrantState, id: string) => boolean = () => true): GrantState[] {
    const out: GrantState[] = [];
    for (const index of this.facts.grantsOfWork(id)) {
      if (index >= before) break;
      const grant = this.facts.grant(index)!;
      if (!grant.rotatedKey && inForce(grant, id)) out.push(grant);
    }
    return out;
  }

  nearGrants(item: UseItem, before: number): NearGrant[] {
    const out: NearGrant[] = [];
    const seen = new Set<string>();
    const sha256 = item.work.find((id) => id.startsWith('sha256:'))!;
    for (const own of item.work) {
      for (const m of this.facts.nearGrantIds(own)) {
        const grant = this.facts.grant(m.payload)!;
        const key = `${m.payload} ${m.id}`;
        // A grant naming the item's bytes is about this very work: rules 1–10 alone judge it.
        if (grant.index >= before || grant.rotatedKey || seen.has(key) || grant.ids.has(sha256)) continue;
        seen.add(key);
        out.push({ grantIndex: grant.index, identity: grant.identity, id: m.id, distance: m.distance });
      }
    }
    return out.sort((a, b) => a.distance - b.distance || a.grantIndex - b.grantIndex);
  }

  /** Creators of grants naming near copies of the item's work as of `before`, nearest first (rule 1a). */
  nearClaimants(item: UseItem, before: number): KeyRef[] {
    return [...new Set(this.nearGrants(item, before).map((n) => n.identity))];
  }

  /** Grants naming a perceptual identifier within `max` (default: the scheme's threshold) of `id`, nearest first. */
  nearGrantsOf(id: string, max?: number): Array<{ grantIndex: number; id: string; distance: number }> {
    return this.facts.nearGrantIds(id, max).map((m) => ({ grantIndex: m.payload, id: m.id, distance: m.distance }));
  }

  /** Whether `model` has a retirement effective by `now`, logged after log index `after` and before `before`. */
  isRetired(model: ModelId, now: string, before = Number.MAX_SAFE_INTEGER, after = -1): boolean {
    return this.facts.modelLinks(model)?.retirements.some((r) => r.effective <= now && r.index > after && r.index < before) ?? false;
  }

  // ---- judging -----------------------------------------------------------------------

  /** The verdict for one item of the training use at `useIndex` (inline or from its manifest). */
  judgeItem(useIndex: number, item: UseItem, opts: JudgeOptions): Judgement {
    const use = this.useAt(useIndex);
    const checked = parseWith(useItemSchema, item, 'item');
    return judge(this, use, checked, this.judgedModel(use, opts.model), nowString(opts.now), opts.before);
  }

  /**
   * judgeItem for many items of one use: the use, model and time are resolved once, and the
   * items are not schema-checked again, so they must come from decodeManifestItem (well-formed
   * by construction). What an audit of a ten-million-item manifest calls per item.
   */
  manifestItemJudge(useIndex: number, opts: JudgeOptions): (item: UseItem) => Judgement {
    const use = this.useAt(useIndex);
    const model = this.judgedModel(use, opts.model);
    const now = nowString(opts.now);
    return (item) => judge(this, use, item, model, now, opts.before);
  }

  /** Verdicts for every inline item of a training use. Manifest items go through judgeItem. */
  judgeUse(useIndex: number, opts: JudgeOptions): ItemJudgement[] {
    const use = this.useAt(useIndex);
    if (!use.record.items) {
      throw new PolicyError('manifest-use', `training use ${useIndex} lists its items in manifest ${use.record.manifest!.root}; judge them with judgeItem as they stream`, 'useIndex');
    }
    const model = this.judgedModel(use, opts.model);
    const now = nowString(opts.now);
    return use.record.items.map((item, position) => ({ position, ...judge(this, use, item, model, now, opts.before) }));
  }

  private useAt(useIndex: number): UseState {
    const use = this.facts.use(useIndex);
    if (!use) throw new PolicyError('unknown-use', `log entry ${useIndex} is ${this.describeEntry(useIndex)}, not a training use`, 'useIndex');
    return use;
  }

  private judgedModel(use: UseState, model: ModelId | undefined): JudgedModel {
    if (model === undefined || model === use.model) return { id: use.model, builder: use.builder };
    // Stops at the model: a model with thousands of descendants is not walked whole per judgement.
    const derived = this.modelsDerivedFrom(use.model, { until: model }).find((d) => d.model === model);
    if (!derived) throw new PolicyError('not-derived', `${model} does not derive from ${use.model}`, 'model');
    const builder = model.slice(0, model.indexOf('/')) as KeyRef;
    return { id: model, builder, via: { lineageIndex: derived.path[derived.path.length - 1], model: use.model } };
  }

  // ---- queries -----------------------------------------------------------------------

  /**
   * Models derived from `model` (children, their children, …), nearest first, each once. The
   * walk stops once `limit` are found, or once `until` is: anyone can declare a model derived
   * from another, so a caller that answers per item bounds what a crowd of them costs.
   */
  modelsDerivedFrom(model: ModelId, opts: { limit?: number; until?: ModelId } = {}): DerivedModel[] {
    const limit = opts.limit ?? Number.POSITIVE_INFINITY;
    const found: DerivedModel[] = [];
    const seen = new Set<ModelId>([model]);
    const queue: DerivedModel[] = [{ model, path: [] }];
    for (let next = queue.shift(); next && found.length < limit; next = queue.shift()) {
      for (const edge of this.facts.modelLinks(next.model)?.children ?? []) {
        if (seen.has(edge.child)) continue;
        seen.add(edge.child);
        const derived = { model: edge.child, path: [...next.path, edge.lineageIndex] };
        found.push(derived);
        queue.push(derived);
        if (found.length >= limit || edge.child === opts.until) return found;
      }
    }
    return found;
  }

  /** Training uses that count for `model`: its own, then those inherited from its ancestors. */
  usesOfModel(model: ModelId): Array<{ useIndex: number; via?: { lineageIndex: number; model: ModelId } }> {
    const own = this.facts.usesOfModel(model).map((useIndex) => ({ useIndex }));
    const inherited = this.ancestorsOf(model).flatMap((ancestor) => {
      // The path is taken from the ancestor's side so that `via` matches what judgeItem reports.
      const derived = this.modelsDerivedFrom(ancestor).find((d) => d.model === model)!;
      const via = { lineageIndex: derived.path[derived.path.length - 1], model: ancestor };
      return this.facts.usesOfModel(ancestor).map((useIndex) => ({ useIndex, via }));
    });
    return [...own, ...inherited];
  }

  /** Models `model` derives from, directly or not, nearest first. */
  ancestorsOf(model: ModelId): ModelId[] {
    const seen = new Set<ModelId>([model]);
    const found: ModelId[] = [];
    for (let i = -1; i < found.length; i++) {
      const current = i < 0 ? model : found[i];
      for (const edge of this.facts.modelLinks(current)?.parents ?? []) {
        if (seen.has(edge.parent)) continue;
        seen.add(edge.parent);
        found.push(edge.parent);
      }
    }
    return found;
  }

  model(id: ModelId): ModelView | undefined {
    const links = this.facts.modelLinks(id);
    const uses = this.facts.usesOfModel(id);
    if (!links && uses.length === 0) return undefined;
    const retirement = links?.retirements[0];
    return { id, uses: [...uses], parents: [...(links?.parents ?? [])], children: [...(links?.children ?? [])], retired: retirement ? { ...retirement } : null };
  }

  use(index: number): { index: number; record: TrainingUseRecord; model: ModelId; builder: KeyRef } | undefined {
    const use = this.facts.use(index);
    return use && { ...use };
  }

  /** Creators claiming a work identifier as of `before` (default: the whole log), first claimant first. */
  claimantsOf(workId: WorkId | string, before = Number.MAX_SAFE_INTEGER): KeyRef[] {
    return [...new Set(this.claimingGrants(workId, before).map((g) => g.identity))];
  }

  /**
   * Grants naming a work identifier, with their status at `now`, in log order; with `page`, only
   * the first `limit` after grant index `after` (the statuses of the rest are not worked out).
   */
  consentsOfWork(workId: WorkId | string, now: Date | string, page: { after?: number; limit?: number } = {}): Array<{ index: number; author: KeyRef; status: ConsentStatus }> {
    const at = nowString(now);
    let grants = this.facts.grantsOfWork(workId);
    if (page.after !== undefined) grants = grants.slice(firstAbove(grants, page.after));
    if (page.limit !== undefined) grants = grants.slice(0, page.limit);
    return grants.map((index) => {
      const grant = this.facts.grant(index)!;
      return { index, author: grant.author, status: grantStatus(grant, at) };
    });
  }

  /** Work identifiers named by the grants of the creator a key belongs to (all keys of its rotation chain). */
  worksOf(key: KeyRef): string[] {
    return this.facts.worksOfIdentity(this.identityOf(key));
  }
}

/** Where the first element above `value` is in an ascending list. */
function firstAbove(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function grantStatus(grant: GrantState, now: string): ConsentStatus {
  if (grant.revocations?.some((r) => r.immediate || r.effective <= now)) return 'revoked';
  if (grant.supersededBy !== undefined) return 'superseded';
  if (grant.record.validUntil !== undefined && grant.record.validUntil <= now) return 'expired';
  return 'active';
}

/** `now` as a record time string, so it compares with record times as strings do. */
function nowString(now: Date | string): string {
  if (now instanceof Date && !Number.isNaN(now.getTime())) return formatRecordTime(now);
  if (typeof now === 'string' && isRecordTime(now)) return now;
  throw new PolicyError('bad-time', `now must be a valid Date or a record time such as 2026-11-23T05:00:00Z, got ${String(now)}`, 'now');
}

/**
 * The consent policy engine (spec/policy.md): fed the log in order, it judges every
 * training-use item and answers the server's questions about works, creators and models.
 * Deterministic: the same log gives the same answers everywhere, browser included.
 */
import { type Hasher, defaultHasher } from '../merkle/index.js';
import {
  type AttestationRecord,
  type AttestationRevocationRecord,
  type ClockRecord,
  type ConsentGrantRecord,
  type ConsentRevocationRecord,
  type CreatorRecord,
  type DelegationRecord,
  type DelegationRevocationRecord,
  type DisputeRulingRecord,
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
  nextKeyCommitment,
  useItemSchema,
} from '../records/index.js';
import { parseWith } from '../records/validate.js';
import { type JudgedModel, type NearGrant, type PolicyView, judge } from './judge.js';
import { type Compromise, type LogClock, type PolicyFacts, MemoryFacts } from './facts.js';
import { Interner } from './interner.js';
import { type DelegationState, delegationFor, grantAuthority, newDelegationState, uncovered, worksOfGrant } from './delegation.js';
import { type RulingState, latestTrustedRuling } from './rulings.js';
import { type AttestationState, type GrantState, type LineageEdge, type RetirementState, type RevocationState, type UseState, newGrantState, newUseState, retirementEffective, revocationBinds, useTimeOf } from './state.js';
import { type IdentityBacking, type Judgement, PolicyError } from './verdicts.js';

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

/** `void`: signed by a key declared compromised (spec/policy.md §2, Key lifecycle). */
export type ConsentStatus = 'active' | 'revoked' | 'superseded' | 'expired' | 'void';

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
  /** What backs each `backed` key (default: a domain with no URL given). */
  evidence?: ReadonlyMap<KeyRef, IdentityEvidence>;
}

/** Evidence a verifier checked for an identity (src/identity/evidence.ts). */
export interface IdentityEvidence {
  kind: 'domain' | 'profile';
  url: string;
}

export class ConsentPolicy implements PolicyView {
  private readonly hasher: Hasher;
  /** The verifier's trust policy; none on the server. */
  readonly trust: TrustView | undefined;
  private lastIndex: number;
  private readonly facts: PolicyFacts;
  private readonly interner = new Interner();
  /** The log's own key: only its clock records tell the time (spec/policy.md "The clock"). */
  readonly clockKey: KeyRef | undefined;

  /**
   * `hasher` computes leaf hashes for `{leafHash}` references; pass nodeHasher on the server.
   * `facts` is where the policy keeps what it learns (default: in memory); `size` is how much of
   * the log they already cover (facts kept in a store outlive the process). `clockKey` is the
   * log's key (the one that signs its checkpoints): without it, no clock record counts and every
   * record is judged by its claimed time.
   */
  constructor(opts: { hasher?: Hasher; facts?: PolicyFacts; size?: number; trust?: TrustView; clockKey?: KeyRef } = {}) {
    this.hasher = opts.hasher ?? defaultHasher;
    this.trust = opts.trust;
    this.clockKey = opts.clockKey;
    this.facts = opts.facts ?? new MemoryFacts();
    this.lastIndex = (opts.size ?? 0) - 1;
  }

  /** One past the last index applied. */
  get size(): number {
    return this.lastIndex + 1;
  }

  /**
   * The log's clock after the records applied: the last clock record by `clockKey`. The logged
   * time of the next record is its time.
   */
  get clock(): LogClock | undefined {
    return this.facts.clock();
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
      case 'clock':
        return this.applyClock(index, payload);
      case 'attestation':
        return this.applyAttestation(index, payload);
      case 'attestation-revocation':
        return this.applyAttestationRevocation(index, payload);
      case 'delegation':
        return this.applyDelegation(index, payload);
      case 'delegation-revocation':
        return this.applyDelegationRevocation(index, payload);
      case 'dispute-ruling':
        return this.applyRuling(index, payload);
    }
  }

  private applyCreator(index: number, record: CreatorRecord): () => void {
    const honoured = !this.creatorProblem(record, index);
    const from = honoured && record.rotation ? record.rotation.from : undefined;
    const identity = from && this.identityOf(from);
    const commits = honoured && record.next !== undefined && this.facts.nextKeyOf(record.author) === undefined;
    return () => {
      if (from && identity) {
        this.facts.setIdentity(record.author, identity);
        this.facts.setRotation(from, { rotationIndex: index, to: record.author });
        if (record.compromised) this.facts.setCompromise(from, { since: record.compromised.since, recordIndex: index, to: record.author });
      }
      if (commits) this.facts.setNextKey(record.author, record.next!);
      this.facts.addCreatorKey(record.author);
      this.facts.setCreatorRecord(record.author, index);
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
    const authority = grantAuthority(this.facts, index, record);
    const grant = newGrantState(index, record, authority.identity, this.facts.rotation(record.author), authority);
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
      const loggedAt = this.facts.clock()?.time;
      const revocation: RevocationState = { index, author: record.author, effective: record.effective, immediate: record.effective <= (loggedAt ?? record.time) };
      if (loggedAt !== undefined) revocation.loggedAt = loggedAt;
      this.facts.updateGrant({ ...grant, revocations: [...(grant.revocations ?? []), revocation] });
    };
  }

  private applyUse(index: number, record: TrainingUseRecord): () => void {
    const use = newUseState(index, record, this.facts.clock()?.time);
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
    const loggedAt = this.facts.clock()?.time;
    const retirement: RetirementState = { index, effective: record.effective, status: record.status, ...(loggedAt !== undefined ? { loggedAt } : {}) };
    return () => this.facts.addRetirement(model, retirement);
  }

  /**
   * A clock record by the log's key sets the logged time of the records after it; one by any
   * other key is remembered as a record and tells nothing. Taken as it is, even if it goes back:
   * replays must agree, and `pvl audit` reports a clock that goes back.
   */
  private applyClock(index: number, record: ClockRecord): () => void {
    if (record.author !== this.clockKey) return () => undefined;
    return () => this.facts.setClock({ index, time: record.time });
  }

  private applyAttestation(index: number, record: AttestationRecord): () => void {
    const { author, subject, role, name, identifiers, validUntil } = record;
    const attestation: AttestationState = { index, attester: author, subject, role, name, ...(identifiers ? { identifiers } : {}), ...(validUntil ? { validUntil } : {}) };
    return () => this.facts.setAttestation(attestation);
  }

  private applyAttestationRevocation(index: number, record: AttestationRevocationRecord): () => void {
    const target = this.attestationRefProblem(record);
    if (typeof target === 'string') return () => {};
    const { reason, compromisedSince } = record;
    const revocation = { index, ...(reason !== undefined ? { reason } : {}), ...(compromisedSince !== undefined ? { compromisedSince } : {}) };
    return () => this.facts.setAttestation({ ...target, revocation });
  }

  /** A delegation by a rotated key, or to a key of the creator's own identity, delegates nothing. */
  private applyDelegation(index: number, record: DelegationRecord): () => void {
    const delegation = this.delegationProblem(record) ? undefined : newDelegationState(index, record, this.identityOf(record.author));
    return () => {
      this.facts.addCreatorKey(record.author);
      if (delegation) this.facts.addDelegation(delegation);
    };
  }

  private applyDelegationRevocation(index: number, record: DelegationRevocationRecord): () => void {
    const target = this.delegationRevocationProblem(record);
    return () => {
      this.facts.addCreatorKey(record.author);
      if (typeof target !== 'string') this.facts.revokeDelegation(target.index, index);
    };
  }

  /** Rulings are kept whoever signed them: whether one counts is each verifier's trust policy. */
  private applyRuling(index: number, record: DisputeRulingRecord): () => void {
    const ruling: RulingState = { index, author: record.author, owner: record.owner, work: record.work };
    return () => this.facts.addRuling(ruling);
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
      case 'creator': {
        if (p.claims?.emailSha256 !== undefined) {
          return problem('payload.claims.emailSha256', 'is an unsalted hash that anyone can reverse by hashing guessed addresses, and the log is public and permanent; new records use claims.emailCommitment (salted, spec/records.md §2.1: pvl creator register --email)');
        }
        // The record's index will be at least the log size the policy has seen.
        const refused = this.creatorProblem(p, this.size);
        return refused && problem(refused.field, refused.reason);
      }
      case 'consent-grant':
        return problem('payload.onBehalfOf', this.onBehalfProblem(p)) ?? problem('payload.supersedes', this.supersessionProblem(p));
      case 'consent-revocation':
        return problem('payload.grant', this.revocationProblem(p));
      case 'delegation':
        return problem('payload.author', this.delegationProblem(p));
      case 'delegation-revocation': {
        const target = this.delegationRevocationProblem(p);
        return problem('payload.delegation', typeof target === 'string' ? target : undefined);
      }
      case 'training-use':
        return this.itemRefsProblem(p);
      case 'attestation-revocation': {
        const target = this.attestationRefProblem(p);
        return problem('payload.attestation', typeof target === 'string' ? target : undefined);
      }
      default:
        return undefined;
    }
  }

  /**
   * Why a creator record logged at `index` breaks a key-lifecycle rule (spec/policy.md §2, Key
   * lifecycle): a commitment changed other than by rotation, or a rotation the old key's
   * commitment (or, without one, its endorsement) does not allow.
   */
  private creatorProblem(record: CreatorRecord, index: number): { field: string; reason: string } | undefined {
    const committed = this.facts.nextKeyOf(record.author);
    if (record.next !== undefined && committed !== undefined && committed !== record.next) {
      return { field: 'payload.next', reason: `${record.author} already committed to the next key with SHA-256 ${committed}; a commitment changes only by rotating to that key` };
    }
    return record.rotation && this.rotationProblem(record, record.rotation, index);
  }

  private rotationProblem(record: CreatorRecord, rotation: NonNullable<CreatorRecord['rotation']>, index: number): { field: string; reason: string } | undefined {
    const { from } = rotation;
    if (this.facts.isCreatorKey(record.author)) return { field: 'payload.author', reason: `the new key ${record.author} has already signed creator records; rotate to a fresh key` };
    const earlier = this.facts.rotation(from);
    if (earlier) return { field: 'payload.rotation.from', reason: `${from} was already rotated to ${earlier.to} at index ${earlier.rotationIndex}` };
    const commitment = this.facts.nextKeyOf(from);
    if (commitment === undefined) {
      // A legacy key: only its own endorsement can hand the identity on, and nobody it committed to can speak for it.
      if (rotation.sig === undefined) return { field: 'payload.rotation.sig', reason: `${from} committed to no next key, so rotating it needs its endorsement (rotation.sig)` };
      if (record.compromised) return { field: 'payload.compromised', reason: `${from} committed to no next key; only the key it committed to can declare it compromised` };
      return undefined;
    }
    const revealed = nextKeyCommitment(record.author);
    if (revealed !== commitment) {
      return { field: 'payload.author', reason: `${from} committed to the next key with SHA-256 ${commitment}, but the author ${record.author} has SHA-256 ${revealed}: only the committed key can rotate it` };
    }
    if (record.next === undefined) return { field: 'payload.next', reason: `a rotation to a committed key must commit to its own next key (next), or the next theft of ${record.author} would take the identity` };
    if (record.compromised && record.compromised.since > index) {
      return { field: 'payload.compromised.since', reason: `is ${record.compromised.since}, past this record's own log index (${index})` };
    }
    return undefined;
  }

  /** Why a grant naming `onBehalfOf` would claim nothing: no delegation in force for it (spec/policy.md §2, Delegation). */
  private onBehalfProblem(record: ConsentGrantRecord): string | undefined {
    if (record.onBehalfOf === undefined) return undefined;
    // The record's index will be at least the log size the policy has seen.
    const refused = grantAuthority(this.facts, this.size, record).refused;
    return refused && `${refused}: ${record.author} cannot grant on its behalf`;
  }

  private supersessionProblem(record: ConsentGrantRecord): string | undefined {
    if (!record.supersedes) return undefined;
    const target = this.grantRefProblem(record.supersedes);
    if (typeof target === 'string') return target;
    const authority = grantAuthority(this.facts, this.size, record);
    if (authority.refused !== undefined || target.identity !== authority.identity) return `grant ${target.index} is by another creator (${target.identity})`;
    // An agent replaces a grant only if it could have made it: a grant naming works outside the
    // delegation would otherwise let it withdraw those.
    const outside = authority.grantedBy && uncovered(this.facts.delegation(authority.grantedBy.delegationIndex)!, worksOfGrant(target.record));
    if (outside) return `grant ${target.index} names ${outside}, which delegation ${authority.grantedBy!.delegationIndex} does not cover`;
    const rotation = this.facts.rotation(record.author);
    if (rotation) return `${record.author} was rotated to ${rotation.to} at index ${rotation.rotationIndex}; supersede with the new key`;
    if (target.supersededBy !== undefined) return `grant ${target.index} was already superseded by grant ${target.supersededBy}; supersede that one`;
    return undefined;
  }

  private revocationProblem(record: ConsentRevocationRecord): string | undefined {
    const target = this.grantRefProblem(record.grant);
    if (typeof target === 'string') return target;
    const authorityProblem = record.onBehalfOf === undefined ? this.ownGrantProblem(record, target) : this.revokeOnBehalfProblem(record, record.onBehalfOf, target);
    if (authorityProblem) return authorityProblem;
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

  private ownGrantProblem(record: ConsentRevocationRecord, target: GrantState): string | undefined {
    if (target.identity === this.identityOf(record.author)) return undefined;
    const agent = target.grantedBy ? ` (granted by ${target.grantedBy.agent} on behalf of ${target.identity}: an agent revokes with onBehalfOf)` : '';
    return `grant ${target.index} is by ${target.author}${agent}; only its creator can revoke it`;
  }

  /**
   * An agent or rights holder revoking a creator's grant: with a delegation in force that gives
   * the power to revoke and covers the grant's works, or — needing none — a grant it made itself
   * on that creator's behalf (withdrawing its own act; the delegation may have ended since).
   */
  private revokeOnBehalfProblem(record: ConsentRevocationRecord, onBehalfOf: KeyRef, target: GrantState): string | undefined {
    const identity = this.identityOf(onBehalfOf);
    if (target.identity !== identity) return `grant ${target.index} is not by ${identity} (it claims for ${target.identity})`;
    if (target.grantedBy && this.identityOf(target.grantedBy.agent) === this.identityOf(record.author)) return undefined;
    const found = delegationFor(this.facts, { identity, author: record.author, power: 'revoke', works: worksOfGrant(target.record), index: this.size, time: record.time });
    return 'problem' in found ? `${found.problem}: ${record.author} cannot revoke grant ${target.index} on its behalf` : undefined;
  }

  /** Why a delegation would delegate nothing: signed by a rotated key, or to the creator's own identity. */
  private delegationProblem(record: DelegationRecord): string | undefined {
    const rotation = this.facts.rotation(record.author);
    if (rotation) return `${record.author} was rotated to ${rotation.to} at index ${rotation.rotationIndex}; delegate with the new key`;
    const identity = this.identityOf(record.author);
    if (this.identityOf(record.agent) === identity) return `${record.agent} is a key of the delegating identity ${identity} itself`;
    return undefined;
  }

  /** The delegation a delegation-revocation may end: one by the revoker's identity, not yet revoked, revoked by its current key; or why not. */
  private delegationRevocationProblem(record: DelegationRevocationRecord): DelegationState | string {
    const resolved = this.resolveRef(record.delegation);
    if ('problem' in resolved) return resolved.problem;
    const target = this.facts.delegation(resolved.index);
    if (!target) return `log entry ${resolved.index} is ${this.describeEntry(resolved.index)}, not a delegation in force`;
    if (target.identity !== this.identityOf(record.author)) return `delegation ${target.index} is by ${target.identity}; only that creator can revoke it`;
    const rotation = this.facts.rotation(record.author);
    if (rotation) return `${record.author} was rotated to ${rotation.to} at index ${rotation.rotationIndex}; revoke with the new key`;
    if (target.revokedAt !== undefined) return `delegation ${target.index} was already revoked at index ${target.revokedAt}`;
    return target;
  }

  /** The attestation a revocation may withdraw: one by the same attester, not yet revoked; or why not. */
  private attestationRefProblem(record: AttestationRevocationRecord): AttestationState | string {
    const resolved = this.resolveRef(record.attestation);
    if ('problem' in resolved) return resolved.problem;
    const target = this.facts.attestation(resolved.index);
    if (!target) return `log entry ${resolved.index} is ${this.describeEntry(resolved.index)}, not an attestation`;
    if (target.attester !== record.author) return `attestation ${target.index} is by ${target.attester}; only its attester can revoke it`;
    if (target.revocation) return `attestation ${target.index} was already revoked at index ${target.revocation.index}`;
    return target;
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

  // ---- identities (spec/policy.md, "Trust policy" and "Identity levels") -------------

  /** The keys of an identity's rotation chain, first key first. */
  keysOfIdentity(identity: KeyRef): KeyRef[] {
    const keys = [identity];
    for (let r = this.facts.rotation(identity); r && !keys.includes(r.to); r = this.facts.rotation(r.to)) keys.push(r.to);
    return keys;
  }

  /**
   * What the log says about the identity a key belongs to (GET /identities): its keys in rotation
   * order with the log index of each rotation and of each key's latest creator record, and every
   * attestation about them. Undefined if the log knows nothing of the key.
   */
  identityRecords(key: KeyRef): { identity: KeyRef; keys: Array<{ key: KeyRef; rotationIndex?: number; creatorRecord?: number }>; attestations: AttestationState[] } | undefined {
    const identity = this.identityOf(key);
    const keys = this.keysOfIdentity(identity).map((k, i, all) => {
      const rotationIndex = i === 0 ? undefined : this.facts.rotation(all[i - 1])?.rotationIndex;
      const creatorRecord = this.facts.creatorRecordOf(k);
      return { key: k, ...(rotationIndex !== undefined ? { rotationIndex } : {}), ...(creatorRecord !== undefined ? { creatorRecord } : {}) };
    });
    const attestations = this.attestationsOfIdentity(identity);
    const known = attestations.length > 0 || keys.some((k) => this.facts.isCreatorKey(k.key));
    return known ? { identity, keys, attestations } : undefined;
  }

  /** Every attestation about a key of the identity, in log order, whoever signed it (GET /identities). */
  attestationsOfIdentity(identity: KeyRef): AttestationState[] {
    return this.keysOfIdentity(identity)
      .flatMap((key) => this.facts.attestationsOf(key))
      .sort((a, b) => a.index - b.index);
  }

  /**
   * Who is behind an identity for a use, as the verifier's trust policy sees it: an attestation
   * by a trusted attester in force for the use, else domain or profile evidence the verifier
   * checked, else unverified. Undefined without a trust view.
   */
  identityBehind(identity: KeyRef, use: UseState): IdentityBacking | undefined {
    if (!this.trust) return undefined;
    const attestation = this.attestationsOfIdentity(identity).find((a) => this.attestationInForce(a, use));
    if (attestation) return { key: identity, level: 'attested', by: attestation.attester, name: attestation.name };
    const backedKey = this.keysOfIdentity(identity).find((key) => this.trust!.backed?.has(key));
    if (backedKey === undefined) return { key: identity, level: 'unverified' };
    const evidence = this.trust.evidence?.get(backedKey);
    return { key: identity, level: evidence?.kind ?? 'domain', ...(evidence ? { by: evidence.url } : {}) };
  }

  /**
   * An attestation counts for a use if its attester is trusted, it was logged before the use, no
   * revocation logged before the use withdrew it, and it is valid at the use's time (logged, or
   * claimed in a log without a clock).
   */
  private attestationInForce(attestation: AttestationState, use: UseState): boolean {
    const { attester, index, revocation, validUntil } = attestation;
    if (!this.trust?.attesters.has(attester) || index >= use.index) return false;
    if (revocation && revocation.index < use.index) return false;
    return validUntil === undefined || useTimeOf(use) < validUntil;
  }

  /**
   * Why a grant is void for this verifier: its author key was declared compromised, from a log
   * index at or before the grant's, by a trusted attester (attestation-revocation
   * `compromisedSince`). Such a grant is treated as one by a rotated-away key. The declaration
   * counts whenever it was logged (a compromise is found out after the fact), except for a
   * judgement bounded by `horizon` (JudgeOptions.before), so that such a verdict never changes.
   */
  voidedBy(grant: GrantState, horizon?: number): string | undefined {
    const compromise = this.compromiseOf(grant.author, grant.index, horizon);
    if (compromise) return `grant ${grant.index} is signed by ${grant.author}, declared compromised from index ${compromise.since} by the rotation to its committed next key ${compromise.to} at index ${compromise.recordIndex}`;
    if (!this.trust) return undefined;
    for (const attestation of this.facts.attestationsOf(grant.author)) {
      const since = attestation.revocation?.compromisedSince;
      if (since === undefined || grant.index < since || attestation.revocation!.index >= (horizon ?? Number.MAX_SAFE_INTEGER) || !this.trust.attesters.has(attestation.attester)) continue;
      return `grant ${grant.index} is signed by ${grant.author}, declared compromised from index ${since} by ${attestation.attester} (attestation revocation at index ${attestation.revocation!.index})`;
    }
    return undefined;
  }

  /**
   * The self-declared compromise (spec/policy.md §2, Key lifecycle) that voids the record `key`
   * signed at log `index`: declared by the rotation to the key's committed next key, for records
   * from its `since` on (those after the rotation are a rotated key's too; a builder's uses are
   * flagged all the same). It counts for every judgement made once it is in the log — uses
   * logged before it included — but not for one bounded by `horizon` (JudgeOptions.before) at
   * or before the rotation, so a verdict so bounded never changes.
   */
  compromiseOf(key: KeyRef, index: number, horizon = Number.MAX_SAFE_INTEGER): Compromise | undefined {
    const compromise = this.facts.compromise(key);
    return compromise && compromise.since <= index && compromise.recordIndex < horizon ? compromise : undefined;
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
  claimantsFor(item: UseItem, use: UseState, horizon?: number): KeyRef[] {
    const claimants = this.claimantsWhere(item, use.index, (grant, id) => this.claimsFor(grant, id, use, horizon), horizon);
    return this.settledByRuling(item, use, this.backedTakePrecedence(claimants, use));
  }

  /**
   * Rulings (spec/policy.md §2, Rulings): the latest ruling on the item's work logged before the
   * use by an attester the verifier trusts makes its owner the only claimant — even one with no
   * grant of its own, so that a grant by anyone else is `wrong-author`. Without a trust view (the
   * server) no ruling counts.
   */
  private settledByRuling(item: UseItem, use: UseState, claimants: KeyRef[]): KeyRef[] {
    if (!this.trust) return claimants;
    const sha256 = item.work.find((id) => id.startsWith('sha256:'))!;
    const ruling = latestTrustedRuling(this.facts.rulingsOf(sha256), this.trust.attesters, use.index);
    return ruling ? [this.identityOf(ruling.owner)] : claimants;
  }

  /**
   * Precedence (spec/policy.md, "Identity levels"): of two or more claimants, the only one the
   * verifier's trust policy backs keeps the work, and the others' claims are ignored. Without a
   * trust view (the server) or with no single backed claimant, the claimants stand.
   */
  private backedTakePrecedence(claimants: KeyRef[], use: UseState): KeyRef[] {
    if (!this.trust || claimants.length < 2) return claimants;
    const backed = claimants.filter((identity) => this.identityBehind(identity, use)?.level !== 'unverified');
    return backed.length === 1 ? backed : claimants;
  }

  /**
   * Whether `grant` still claims `id` for the use: through the supersessions logged before the
   * use, every grant names `id`, and the last is not revoked for the use. The claim keeps the
   * position of the grant that started it, so that changing one's terms does not put one behind
   * a later claimant.
   */
  private claimsFor(grant: GrantState, id: string, use: UseState, horizon?: number): boolean {
    let last = grant;
    while (last.supersededBy !== undefined && last.supersededBy < use.index) {
      last = this.facts.grant(last.supersededBy)!;
      // A thief's supersession (a compromised key's) withdraws nothing from the identity's claim.
      if (!last.ids.has(id) && !this.compromiseOf(last.author, last.index, horizon)) return false;
    }
    return !last.revocations?.some((r) => revocationBinds(r, use.index, useTimeOf(use)) && !this.compromiseOf(r.author, r.index, horizon));
  }

  private claimantsWhere(item: UseItem, before: number, inForce: (g: GrantState, id: string) => boolean, horizon?: number): KeyRef[] {
    const sha256 = item.work.find((id) => id.startsWith('sha256:'))!;
    const byBytes = [...new Set(this.claimingGrants(sha256, before, inForce, horizon).map((g) => g.identity))];
    if (byBytes.length > 0) return byBytes;
    let earliest: { index: number; identity: KeyRef } | undefined;
    for (const id of item.work) {
      if (id === sha256) continue;
      const first = this.claimingGrants(id, before, inForce, horizon)[0];
      if (first && (!earliest || first.index < earliest.index)) earliest = first;
    }
    return earliest ? [earliest.identity] : [];
  }

  private claimingGrants(id: string, before: number, inForce: (g: GrantState, id: string) => boolean = () => true, horizon?: number): GrantState[] {
    const out: GrantState[] = [];
    for (const index of this.facts.grantsOfWork(id)) {
      if (index >= before) break;
      const grant = this.facts.grant(index)!;
      if (!grant.rotatedKey && grant.onBehalfRefused === undefined && !this.voidedBy(grant, horizon) && inForce(grant, id)) out.push(grant);
    }
    return out;
  }

  nearGrants(item: UseItem, before: number, horizon?: number): NearGrant[] {
    const out: NearGrant[] = [];
    const seen = new Set<string>();
    const sha256 = item.work.find((id) => id.startsWith('sha256:'))!;
    for (const own of item.work) {
      for (const m of this.facts.nearGrantIds(own)) {
        const grant = this.facts.grant(m.payload)!;
        const key = `${m.payload} ${m.id}`;
        // A grant naming the item's bytes is about this very work: rules 1–10 alone judge it.
        if (grant.index >= before || grant.rotatedKey || grant.onBehalfRefused !== undefined || seen.has(key) || grant.ids.has(sha256) || this.voidedBy(grant, horizon)) continue;
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
    return this.facts.modelLinks(model)?.retirements.some((r) => retirementEffective(r) <= now && r.index > after && r.index < before) ?? false;
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

  use(index: number): { index: number; record: TrainingUseRecord; model: ModelId; builder: KeyRef; loggedAt?: string } | undefined {
    const use = this.facts.use(index);
    return use && { ...use };
  }

  /** Creators claiming a work identifier as of `before` (default: the whole log), first claimant first. */
  /**
   * What the creators of earlier claims are told when the grant at `grantIndex` is logged
   * (spec/api.md, `claim` events): for each work it names by sha256, the other identities whose
   * claims on it are in force there (§2, Claims). A grant that claims nothing tells nobody.
   */
  claimsBefore(grantIndex: number): Array<{ work: string; claimedBy: KeyRef[] }> {
    const grant = this.facts.grant(grantIndex);
    if (!grant || grant.rotatedKey || grant.onBehalfRefused !== undefined) return [];
    // claimsFor reads only a use's position and time: the grant's stand in for them.
    const moment = { index: grantIndex, record: { time: grant.record.time } } as UseState;
    const notices: Array<{ work: string; claimedBy: KeyRef[] }> = [];
    for (const work of worksOfGrant(grant.record)) {
      const earlier = this.claimingGrants(work, grantIndex, (g, id) => this.claimsFor(g, id, moment)).map((g) => g.identity);
      const claimedBy = [...new Set(earlier)].filter((identity) => identity !== grant.identity);
      if (claimedBy.length > 0) notices.push({ work, claimedBy });
    }
    return notices;
  }

  /** Dispute rulings naming a work identifier, in log order: claims the server lists but does not judge by. */
  rulingsOfWork(workId: WorkId | string): RulingState[] {
    return this.facts.rulingsOf(workId).map((r) => ({ ...r }));
  }

  /** Delegations a creator identity made (the identity of `key`), revoked ones included, in log order. */
  delegationsOf(key: KeyRef): DelegationState[] {
    return this.facts.delegationsFrom(this.identityOf(key)).map((d) => ({ ...d }));
  }

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
      if (this.compromiseOf(grant.author, index)) return { index, author: grant.author, status: 'void' as const };
      const revocations = grant.revocations?.filter((r) => !this.compromiseOf(r.author, r.index));
      return { index, author: grant.author, status: grantStatus({ ...grant, revocations }, at) };
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

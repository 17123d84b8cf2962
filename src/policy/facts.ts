/**
 * What the consent policy remembers of the log, behind one interface so that where it lives is
 * not the policy's business: MemoryFacts keeps everything in this process (browsers, the CLI's
 * audit); the server keeps the facts of each record in its store and only a bounded cache in
 * memory (src/ledger/policy-facts.ts), so its memory does not grow with the log.
 *
 * Two kinds of facts:
 *  - per record (record types, grants, uses, and the lists of them by work, creator and model):
 *    as many as the log has records. An implementation may keep them elsewhere and answer a
 *    read it has not loaded by throwing FactMissing; the policy reads before it writes, so an
 *    operation that throws changed nothing and can be run again once the fact is loaded.
 *  - per creator key and model (rotations, next-key commitments, compromises, which keys signed
 *    as creators, lineage, retirements, perceptual identifiers of grants): few by comparison,
 *    always at hand.
 */
import type { KeyRef, ModelId, RecordType } from '../records/index.js';
import { type DelegationState } from './delegation.js';
import { EntryTable } from './entry-table.js';
import { type RulingState } from './rulings.js';
import { type NearMatch, NearIndex } from './near-index.js';
import { type AttestationState, type GrantState, type LineageEdge, type RetirementState, type UseState, pushTo } from './state.js';

export interface Rotation {
  rotationIndex: number;
  to: KeyRef;
}

/** The log's clock (spec/policy.md "The clock"): the last clock record by the log's key applied. */
export interface LogClock {
  index: number;
  time: string;
}

/** A key declared compromised by the rotation that revealed its committed next key (spec/policy.md §2). */
export interface Compromise {
  /** The key's records logged at index >= since are void (those after recordIndex are a rotated key's as well). */
  since: number;
  /** The rotation record that declared it. */
  recordIndex: number;
  to: KeyRef;
}

/** Lineage and retirements of one model. */
export interface ModelLinks {
  parents: readonly LineageEdge[];
  children: readonly LineageEdge[];
  retirements: readonly RetirementState[];
}

export interface PolicyFacts {
  // ---- per record: may throw FactMissing ----
  /** The type of the applied record at `index`; undefined if that entry is not an applied record. */
  recordType(index: number): RecordType | undefined;
  /** The applied record whose leaf hash is `leafHashHex`, if any. */
  indexOfLeafHash(leafHashHex: string): number | undefined;
  grant(index: number): GrantState | undefined;
  use(index: number): UseState | undefined;
  /** Grants naming the identifier, in log order. */
  grantsOfWork(id: string): readonly number[];
  /** Identifiers named by the creator's grants, each once (a new array). */
  worksOfIdentity(identity: KeyRef): string[];
  /** Training uses declared for the model, in log order. */
  usesOfModel(model: ModelId): readonly number[];

  // ---- per creator key and model: always at hand ----
  /** The creator identity of a key that joined a rotation chain (undefined: its own identity). */
  identityOf(key: KeyRef): KeyRef | undefined;
  rotation(from: KeyRef): Rotation | undefined;
  /** The next-key commitment (hex SHA-256 of its public key) the key made, if any. */
  nextKeyOf(key: KeyRef): string | undefined;
  compromise(key: KeyRef): Compromise | undefined;
  /** Whether the key has signed creator, grant or revocation records. */
  isCreatorKey(key: KeyRef): boolean;
  modelLinks(model: ModelId): ModelLinks | undefined;
  /** The last clock record by the log's key applied, if any. */
  clock(): LogClock | undefined;
  /** The attestation logged at `index`, if any. */
  attestation(index: number): AttestationState | undefined;
  /** Attestations whose subject is `key`, in log order. */
  attestationsOf(key: KeyRef): readonly AttestationState[];
  /** The log index of the latest creator record signed by `key` (its name and claims: GET /identities). */
  creatorRecordOf(key: KeyRef): number | undefined;
  /** Grants' perceptual identifiers within `max` of `id` (payload: grant index), nearest first. */
  nearGrantIds(id: string, max?: number): NearMatch[];
  /** Delegations the creator identity made, in log order (revoked ones included). */
  delegationsFrom(identity: KeyRef): readonly DelegationState[];
  /** The delegation logged at `index`, if any. */
  delegation(index: number): DelegationState | undefined;
  /** Dispute rulings naming the work identifier, in log order. */
  rulingsOf(id: string): readonly RulingState[];

  // ---- changes, in log order ----
  /** `leafHash` computes the record's leaf hash, for an implementation that keeps it. */
  addRecord(index: number, type: RecordType, leafHash: () => Uint8Array): void;
  /** A new grant: also listed under its identifiers and its creator. */
  addGrant(grant: GrantState): void;
  /** A grant's supersession links or revocations changed (the state passed is the new one). */
  updateGrant(grant: GrantState): void;
  /** A new training use: also listed under its model. */
  addUse(use: UseState): void;
  addCreatorKey(key: KeyRef): void;
  setIdentity(key: KeyRef, identity: KeyRef): void;
  setRotation(from: KeyRef, rotation: Rotation): void;
  /** Made once per key: a later creator record by the key does not change it (only a rotation does). */
  setNextKey(key: KeyRef, commitment: string): void;
  setCompromise(key: KeyRef, compromise: Compromise): void;
  addLineage(edge: LineageEdge): void;
  addRetirement(model: ModelId, retirement: RetirementState): void;
  addDelegation(delegation: DelegationState): void;
  /** The delegation at `index` was revoked by the delegation-revocation at `revokedAt`. */
  revokeDelegation(index: number, revokedAt: number): void;
  addRuling(ruling: RulingState): void;
  setClock(clock: LogClock): void;
  /** A new attestation, or one whose revocation was applied (the state passed is the new one). */
  setAttestation(attestation: AttestationState): void;
  setCreatorRecord(key: KeyRef, index: number): void;
}

/**
 * A fact a PolicyFacts implementation has not loaded; run the operation again once it is. Not
 * an Error: it is thrown and caught often, and capturing a stack trace would be most of its cost.
 */
export class FactMissing {
  constructor(readonly fact: unknown) {}
}

/** The per-creator-key and per-model reads, from facts every implementation keeps in memory. */
export abstract class ResidentReads {
  protected readonly resident = new ResidentFacts();

  identityOf(key: KeyRef): KeyRef | undefined {
    return this.resident.identities.get(key);
  }
  rotation(from: KeyRef): Rotation | undefined {
    return this.resident.rotations.get(from);
  }
  nextKeyOf(key: KeyRef): string | undefined {
    return this.resident.nextKeys.get(key);
  }
  compromise(key: KeyRef): Compromise | undefined {
    return this.resident.compromises.get(key);
  }
  isCreatorKey(key: KeyRef): boolean {
    return this.resident.creatorKeys.has(key);
  }
  modelLinks(model: ModelId): ModelLinks | undefined {
    return this.resident.models.get(model);
  }
  clock(): LogClock | undefined {
    return this.resident.clock;
  }
  nearGrantIds(id: string, max?: number): NearMatch[] {
    return this.resident.near.query(id, max);
  }
  delegationsFrom(identity: KeyRef): readonly DelegationState[] {
    return this.resident.delegationsFrom(identity);
  }
  delegation(index: number): DelegationState | undefined {
    return this.resident.delegations.get(index);
  }
  rulingsOf(id: string): readonly RulingState[] {
    return this.resident.rulingsByWork.get(id) ?? [];
  }
  attestation(index: number): AttestationState | undefined {
    return this.resident.attestations.get(index);
  }
  attestationsOf(key: KeyRef): readonly AttestationState[] {
    return (this.resident.attestationsBySubject.get(key) ?? []).map((index) => this.resident.attestations.get(index)!);
  }
  creatorRecordOf(key: KeyRef): number | undefined {
    return this.resident.creatorRecords.get(key);
  }
}

/** Everything in memory: the policy of a browser or a CLI audit. */
export class MemoryFacts extends ResidentReads implements PolicyFacts {
  private readonly entries = new EntryTable();
  private readonly grants = new Map<number, GrantState>();
  private readonly uses = new Map<number, UseState>();
  private readonly grantsByWork = new Map<string, number[]>();
  private readonly worksByIdentity = new Map<KeyRef, Set<string>>();
  private readonly usesByModel = new Map<ModelId, number[]>();

  recordType(index: number): RecordType | undefined {
    return this.entries.type(index);
  }
  indexOfLeafHash(leafHashHex: string): number | undefined {
    return this.entries.indexOfLeafHash(leafHashHex);
  }
  grant(index: number): GrantState | undefined {
    return this.grants.get(index);
  }
  use(index: number): UseState | undefined {
    return this.uses.get(index);
  }
  grantsOfWork(id: string): readonly number[] {
    return this.grantsByWork.get(id) ?? [];
  }
  worksOfIdentity(identity: KeyRef): string[] {
    return [...(this.worksByIdentity.get(identity) ?? [])];
  }
  usesOfModel(model: ModelId): readonly number[] {
    return this.usesByModel.get(model) ?? [];
  }

  addRecord(index: number, type: RecordType, leafHash: () => Uint8Array): void {
    this.entries.add(index, type, leafHash());
  }
  addGrant(grant: GrantState): void {
    this.grants.set(grant.index, grant);
    let works = this.worksByIdentity.get(grant.identity);
    if (!works) this.worksByIdentity.set(grant.identity, (works = new Set()));
    for (const id of grant.ids) {
      pushTo(this.grantsByWork, id, grant.index);
      works.add(id);
    }
    this.resident.addNearIds(grant);
  }
  updateGrant(grant: GrantState): void {
    this.grants.set(grant.index, grant);
  }
  addUse(use: UseState): void {
    this.uses.set(use.index, use);
    pushTo(this.usesByModel, use.model, use.index);
  }
  addCreatorKey(key: KeyRef): void {
    this.resident.creatorKeys.add(key);
  }
  setIdentity(key: KeyRef, identity: KeyRef): void {
    this.resident.identities.set(key, identity);
  }
  setRotation(from: KeyRef, rotation: Rotation): void {
    this.resident.rotations.set(from, rotation);
  }
  setNextKey(key: KeyRef, commitment: string): void {
    this.resident.nextKeys.set(key, commitment);
  }
  setCompromise(key: KeyRef, compromise: Compromise): void {
    this.resident.compromises.set(key, compromise);
  }
  addLineage(edge: LineageEdge): void {
    this.resident.addLineage(edge);
  }
  addRetirement(model: ModelId, retirement: RetirementState): void {
    this.resident.addRetirement(model, retirement);
  }
  addDelegation(delegation: DelegationState): void {
    this.resident.setDelegation(delegation);
  }
  revokeDelegation(index: number, revokedAt: number): void {
    this.resident.setDelegation({ ...this.resident.delegations.get(index)!, revokedAt });
  }
  addRuling(ruling: RulingState): void {
    this.resident.addRuling(ruling);
  }
  setClock(clock: LogClock): void {
    this.resident.clock = clock;
  }
  setAttestation(attestation: AttestationState): void {
    this.resident.setAttestation(attestation);
  }
  setCreatorRecord(key: KeyRef, index: number): void {
    this.resident.creatorRecords.set(key, index);
  }
}

interface MutableModelLinks {
  parents: LineageEdge[];
  children: LineageEdge[];
  retirements: RetirementState[];
}

/** The per-creator-key and per-model facts, kept in memory by every implementation. */
export class ResidentFacts {
  readonly identities = new Map<KeyRef, KeyRef>();
  readonly rotations = new Map<KeyRef, Rotation>();
  readonly nextKeys = new Map<KeyRef, string>();
  readonly compromises = new Map<KeyRef, Compromise>();
  readonly creatorKeys = new Set<KeyRef>();
  readonly models = new Map<ModelId, MutableModelLinks>();
  readonly near = new NearIndex();
  clock: LogClock | undefined;
  /** Attestations by log index, and their indexes by subject key: few (one per attested identity). */
  readonly attestations = new Map<number, AttestationState>();
  readonly attestationsBySubject = new Map<KeyRef, number[]>();
  /** The latest creator record of each key that signed one. */
  readonly creatorRecords = new Map<KeyRef, number>();

  setAttestation(attestation: AttestationState): void {
    if (!this.attestations.has(attestation.index)) pushTo(this.attestationsBySubject, attestation.subject, attestation.index);
    this.attestations.set(attestation.index, attestation);
  }

  /** Delegations by log index, and their indexes by delegating identity: few (one per agent a creator has). */
  readonly delegations = new Map<number, DelegationState>();
  readonly delegationsByIdentity = new Map<KeyRef, number[]>();
  /** Dispute rulings by each identifier of the work they name. */
  readonly rulingsByWork = new Map<string, RulingState[]>();

  /** A new delegation, or one now revoked (the state passed is the new one). */
  setDelegation(delegation: DelegationState): void {
    if (!this.delegations.has(delegation.index)) pushTo(this.delegationsByIdentity, delegation.identity, delegation.index);
    this.delegations.set(delegation.index, delegation);
  }

  delegationsFrom(identity: KeyRef): DelegationState[] {
    return (this.delegationsByIdentity.get(identity) ?? []).map((index) => this.delegations.get(index)!);
  }

  addRuling(ruling: RulingState): void {
    for (const id of ruling.work) pushTo(this.rulingsByWork, id, ruling);
  }

  /** Returns the identifiers that were perceptual (the others are not near-searchable). */
  addNearIds(grant: Pick<GrantState, 'index' | 'ids'>): string[] {
    const added: string[] = [];
    for (const id of grant.ids) if (this.near.add(id, grant.index)) added.push(id);
    return added;
  }

  addLineage(edge: LineageEdge): void {
    this.linksOf(edge.child).parents.push(edge);
    this.linksOf(edge.parent).children.push(edge);
  }

  addRetirement(model: ModelId, retirement: RetirementState): void {
    this.linksOf(model).retirements.push(retirement);
  }

  private linksOf(model: ModelId): MutableModelLinks {
    let links = this.models.get(model);
    if (!links) this.models.set(model, (links = { parents: [], children: [], retirements: [] }));
    return links;
  }
}

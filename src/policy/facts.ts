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
 *  - per creator key and model (rotations, which keys signed as creators, lineage, retirements,
 *    perceptual identifiers of grants): few by comparison, always at hand.
 */
import type { KeyRef, ModelId, RecordType } from '../records/index.js';
import { EntryTable } from './entry-table.js';
import { type NearMatch, NearIndex } from './near-index.js';
import { type GrantState, type LineageEdge, type RetirementState, type UseState, pushTo } from './state.js';

export interface Rotation {
  rotationIndex: number;
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
  /** Whether the key has signed creator, grant or revocation records. */
  isCreatorKey(key: KeyRef): boolean;
  modelLinks(model: ModelId): ModelLinks | undefined;
  /** Grants' perceptual identifiers within `max` of `id` (payload: grant index), nearest first. */
  nearGrantIds(id: string, max?: number): NearMatch[];

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
  addLineage(edge: LineageEdge): void;
  addRetirement(model: ModelId, retirement: RetirementState): void;
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
  isCreatorKey(key: KeyRef): boolean {
    return this.resident.creatorKeys.has(key);
  }
  modelLinks(model: ModelId): ModelLinks | undefined {
    return this.resident.models.get(model);
  }
  nearGrantIds(id: string, max?: number): NearMatch[] {
    return this.resident.near.query(id, max);
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
  addLineage(edge: LineageEdge): void {
    this.resident.addLineage(edge);
  }
  addRetirement(model: ModelId, retirement: RetirementState): void {
    this.resident.addRetirement(model, retirement);
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
  readonly creatorKeys = new Set<KeyRef>();
  readonly models = new Map<ModelId, MutableModelLinks>();
  readonly near = new NearIndex();

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

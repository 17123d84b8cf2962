/**
 * What the policy remembers about the log, record by record. Everything is keyed by log index,
 * so any past position can be judged: "was this logged before that?" is a comparison of indexes.
 */
import { type ConsentGrantRecord, type KeyRef, type ModelId, type TrainingUseRecord, formatModelId } from '../records/index.js';

export interface RevocationState {
  index: number;
  author: KeyRef;
  effective: string;
  /** Effective at or before its own claimed time: it binds every later use, whatever they claim. */
  immediate: boolean;
}

/**
 * Whether a revocation binds the use at `useIndex` claiming `useTime` (spec/policy.md §2): it
 * was logged before the use, and is immediate or effective by the use's time. One predicate for
 * rule 4 and for claims, so that a grant stops claiming a work exactly where it stops covering it.
 */
export function revocationBinds(revocation: RevocationState, useIndex: number, useTime: string): boolean {
  return revocation.index < useIndex && (revocation.immediate || useTime >= revocation.effective);
}

export interface GrantState {
  index: number;
  record: ConsentGrantRecord;
  author: KeyRef;
  /** The creator identity of the author (spec/policy.md: the first key of a rotation chain). */
  identity: KeyRef;
  /** Set if the author key had been rotated away before this grant was logged: it claims nothing. */
  rotatedKey?: { rotationIndex: number; to: KeyRef };
  /** Every identifier the grant names (idSetOf). */
  ids: IdSet;
  /** The grant this one replaces, when the link was valid (same creator, not already replaced). */
  supersedes?: number;
  supersededBy?: number;
  /** Absent until the first one (most grants are never revoked). */
  revocations?: RevocationState[];
}

export interface UseState {
  index: number;
  record: TrainingUseRecord;
  model: ModelId;
  builder: KeyRef;
}

export interface LineageEdge {
  lineageIndex: number;
  parent: ModelId;
  child: ModelId;
  relation: string;
}

export interface RetirementState {
  index: number;
  effective: string;
  status: 'retired' | 'destroyed';
}

/** The identifiers a grant names: membership and iteration, each identifier once. */
export interface IdSet extends Iterable<string> {
  has(id: string): boolean;
}

/** Up to this many identifiers are searched in an array: faster than hashing, and far smaller. */
const SMALL_ID_SET = 8;

class SmallIdSet implements IdSet {
  constructor(private readonly ids: readonly string[]) {}
  has(id: string): boolean {
    return this.ids.includes(id);
  }
  [Symbol.iterator](): Iterator<string> {
    return this.ids[Symbol.iterator]();
  }
}

/**
 * A grant's identifiers. Most grants name a handful, and the policy keeps one set per grant for
 * the life of the process: a Set costs ~130 bytes even for one member, an array ~30.
 */
export function idSetOf(ids: readonly string[]): IdSet {
  const unique = ids.length === 1 ? ids : [...new Set(ids)];
  return unique.length <= SMALL_ID_SET ? new SmallIdSet(unique) : new Set(unique);
}

/** Appends to a list in a map of lists. */
export function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** A grant as first applied (no supersession or revocation yet). */
export function newGrantState(index: number, record: ConsentGrantRecord, identity: KeyRef, rotatedKey?: { rotationIndex: number; to: KeyRef }): GrantState {
  return {
    index,
    record,
    author: record.author,
    identity,
    // One work (the usual grant): its identifier list as parsed, no copy.
    ids: idSetOf(record.works.length === 1 ? record.works[0] : record.works.flat()),
    ...(rotatedKey ? { rotatedKey } : {}),
  };
}

export function newUseState(index: number, record: TrainingUseRecord): UseState {
  return { index, record, model: formatModelId({ builder: record.author, ...record.model }), builder: record.author };
}

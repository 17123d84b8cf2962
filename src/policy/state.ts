/**
 * What the policy remembers about the log, record by record. Everything is keyed by log index,
 * so any past position can be judged: "was this logged before that?" is a comparison of indexes.
 */
import type { GrantAuthority, GrantedBy } from './delegation.js';
import { type AttestationRole, type ConsentGrantRecord, type KeyRef, type ModelId, type TrainingUseRecord, formatModelId } from '../records/index.js';

export interface RevocationState {
  index: number;
  author: KeyRef;
  effective: string;
  /**
   * Effective at or before its own time (logged, or claimed in a log without a clock): it binds
   * every later use, whatever they claim.
   */
  immediate: boolean;
  /** The revocation's logged time (spec/policy.md "The clock"); absent before the log's first clock record. */
  loggedAt?: string;
}

/**
 * Whether a revocation binds the use at `useIndex` whose time is `useTime` (its logged time;
 * its claim in a log without a clock) (spec/policy.md §2): it was logged before the use, and is
 * immediate or effective by the use's time. One predicate for rule 4 and for claims, so that a
 * grant stops claiming a work exactly where it stops covering it.
 */
export function revocationBinds(revocation: RevocationState, useIndex: number, useTime: string): boolean {
  return revocation.index < useIndex && (revocation.immediate || useTime >= revocation.effective);
}

/** The time validity windows judge a use by: its logged time, or its claim before the log's first clock record. */
export function useTimeOf(use: UseState): string {
  return use.loggedAt ?? use.record.time;
}

/**
 * When a retirement takes effect: its claimed `effective`, but never before it was logged (a
 * back-dated retirement cannot retire a model before the log knew of it).
 */
export function retirementEffective(retirement: RetirementState): string {
  const { effective, loggedAt } = retirement;
  return loggedAt !== undefined && loggedAt > effective ? loggedAt : effective;
}

export interface GrantState {
  index: number;
  record: ConsentGrantRecord;
  author: KeyRef;
  /** The creator identity of the author (spec/policy.md: the first key of a rotation chain). */
  identity: KeyRef;
  /** Set if the author key had been rotated away before this grant was logged: it claims nothing. */
  rotatedKey?: { rotationIndex: number; to: KeyRef };
  /** Set when an agent or rights holder granted it on the creator's behalf under a delegation. */
  grantedBy?: GrantedBy;
  /** Set when it names `onBehalfOf` without a delegation in force (why): it claims nothing. */
  onBehalfRefused?: string;
  /** Every identifier the grant names (idSetOf). */
  ids: IdSet;
  /** The grant this one replaces, when the link was valid (same creator, not already replaced). */
  supersedes?: number;
  supersededBy?: number;
  /** Absent until the first one (most grants are never revoked). */
  revocations?: RevocationState[];
}

/** An attestation ("this key belongs to X") and, once withdrawn, its revocation. */
export interface AttestationState {
  index: number;
  attester: KeyRef;
  subject: KeyRef;
  role: AttestationRole;
  name: string;
  identifiers?: string[];
  validUntil?: string;
  revocation?: { index: number; reason?: string; compromisedSince?: number };
}

export interface UseState {
  index: number;
  record: TrainingUseRecord;
  model: ModelId;
  builder: KeyRef;
  /** The use's logged time (spec/policy.md "The clock"); absent before the log's first clock record. */
  loggedAt?: string;
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
  /** The retirement's logged time; absent before the log's first clock record. */
  loggedAt?: string;
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
export function newGrantState(
  index: number,
  record: ConsentGrantRecord,
  identity: KeyRef,
  rotatedKey?: { rotationIndex: number; to: KeyRef },
  authority: Pick<GrantAuthority, 'grantedBy' | 'refused'> = {},
): GrantState {
  return {
    index,
    record,
    author: record.author,
    identity,
    // One work (the usual grant): its identifier list as parsed, no copy.
    ids: idSetOf(record.works.length === 1 ? record.works[0] : record.works.flat()),
    ...(rotatedKey ? { rotatedKey } : {}),
    ...(authority.grantedBy ? { grantedBy: authority.grantedBy } : {}),
    ...(authority.refused !== undefined ? { onBehalfRefused: authority.refused } : {}),
  };
}

export function newUseState(index: number, record: TrainingUseRecord, loggedAt?: string): UseState {
  const use: UseState = { index, record, model: formatModelId({ builder: record.author, ...record.model }), builder: record.author };
  if (loggedAt !== undefined) use.loggedAt = loggedAt;
  return use;
}

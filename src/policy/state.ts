/**
 * What the policy remembers about the log, record by record. Everything is keyed by log index,
 * so any past position can be judged: "was this logged before that?" is a comparison of indexes.
 */
import type {
  ConsentGrantRecord,
  KeyRef,
  ModelId,
  RecordType,
  TrainingUseRecord,
} from '../records/index.js';

export interface RevocationState {
  index: number;
  author: KeyRef;
  effective: string;
  /** Effective at or before its own claimed time: it binds every later use, whatever they claim. */
  immediate: boolean;
}

export interface GrantState {
  index: number;
  record: ConsentGrantRecord;
  author: KeyRef;
  /** The creator identity of the author (spec/policy.md: the first key of a rotation chain). */
  identity: KeyRef;
  /** Set if the author key had been rotated away before this grant was logged: it claims nothing. */
  rotatedKey?: { rotationIndex: number; to: KeyRef };
  /** Every identifier the grant names, for O(1) matching. */
  ids: Set<string>;
  /** The grant this one replaces, when the link was valid (same creator, not already replaced). */
  supersedes?: number;
  supersededBy?: number;
  revocations: RevocationState[];
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

export interface ModelState {
  id: ModelId;
  uses: number[];
  parents: LineageEdge[];
  children: LineageEdge[];
  retirements: RetirementState[];
}

export interface EntryState {
  type: RecordType;
  author: KeyRef;
}

/** Appends to a list in a map of lists. */
export function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/**
 * Delegation (spec/policy.md §2, Delegation): a creator identity lets an agent or rights holder
 * grant and/or revoke consent for some or all of its works. Whether a delegation is in force for
 * an act is a pure function of the delegations logged before it, so the server can rebuild a
 * grant's authority from its record and the (resident) delegation facts alone.
 */
import type { ConsentGrantRecord, DelegationPower, DelegationRecord, DelegationRole, KeyRef } from '../records/index.js';

export interface DelegationState {
  index: number;
  /** The delegating creator identity (its author's identity). */
  identity: KeyRef;
  agent: KeyRef;
  role: DelegationRole;
  powers: readonly DelegationPower[];
  /** The sha256 identifiers of the works it covers, or every work of the identity. */
  works: 'all' | readonly string[];
  validUntil?: string;
  /** The delegation-revocation that ended it: acts logged after it are refused. */
  revokedAt?: number;
}

/** Who granted a grant made on a creator's behalf (in GrantState and in judgements). */
export interface GrantedBy {
  agent: KeyRef;
  role: DelegationRole;
  delegationIndex: number;
}

/** What the delegation checks read (resident facts). */
export interface DelegationReads {
  identityOf(key: KeyRef): KeyRef | undefined;
  delegationsFrom(identity: KeyRef): readonly DelegationState[];
}

/** An act by `author` on `identity`'s behalf, logged at `index` and claiming `time`. */
export interface DelegatedAct {
  identity: KeyRef;
  author: KeyRef;
  power: DelegationPower;
  /** sha256 identifiers of the works acted on. */
  works: readonly string[];
  index: number;
  time: string;
}

export function newDelegationState(index: number, record: DelegationRecord, identity: KeyRef): DelegationState {
  return {
    index,
    identity,
    agent: record.agent,
    role: record.role,
    powers: record.powers,
    works: record.works === 'all' ? 'all' : record.works.map(sha256Of),
    ...(record.validUntil !== undefined ? { validUntil: record.validUntil } : {}),
  };
}

/** The sha256 identifier among one work's identifiers (the schema requires one). */
export function sha256Of(ids: readonly string[]): string {
  return ids.find((id) => id.startsWith('sha256:'))!;
}

export function worksOfGrant(record: ConsentGrantRecord): string[] {
  return record.works.map(sha256Of);
}

/**
 * The delegation that lets the act happen, or why none does. The act's claimed time is what
 * `validUntil` is compared with: admission bounds it by the server's clock skew.
 */
export function delegationFor(reads: DelegationReads, act: DelegatedAct): { delegation: DelegationState } | { problem: string } {
  const agentIdentity = reads.identityOf(act.author) ?? act.author;
  const candidates = reads.delegationsFrom(act.identity).filter((d) => d.index < act.index && (reads.identityOf(d.agent) ?? d.agent) === agentIdentity);
  if (candidates.length === 0) return { problem: `${act.identity} has delegated nothing to ${act.author}` };
  let problem = '';
  for (let i = candidates.length - 1; i >= 0; i--) {
    const why = notInForce(candidates[i], act);
    if (why === undefined) return { delegation: candidates[i] };
    problem ||= why; // the latest delegation's reason is the one to act on
  }
  return { problem };
}

function notInForce(d: DelegationState, act: DelegatedAct): string | undefined {
  if (d.revokedAt !== undefined && d.revokedAt < act.index) return `delegation ${d.index} from ${d.identity} was revoked at index ${d.revokedAt}`;
  if (d.validUntil !== undefined && act.time >= d.validUntil) return `delegation ${d.index} from ${d.identity} was valid until ${d.validUntil}; the record claims ${act.time}`;
  if (!d.powers.includes(act.power)) return `delegation ${d.index} from ${d.identity} gives no power to ${act.power}`;
  const outside = uncovered(d, act.works);
  if (outside !== undefined) return `delegation ${d.index} from ${d.identity} does not cover ${outside}`;
  return undefined;
}

/** The first of `works` the delegation does not cover. */
export function uncovered(d: DelegationState, works: readonly string[]): string | undefined {
  if (d.works === 'all') return undefined;
  const covered = d.works;
  return works.find((w) => !covered.includes(w));
}

/** A grant's authority: the identity it claims for, and who granted it if an agent did. */
export interface GrantAuthority {
  identity: KeyRef;
  grantedBy?: GrantedBy;
  /** Set when the grant names `onBehalfOf` without a delegation in force: it claims nothing. */
  refused?: string;
}

/** The authority of a grant logged at `index` (what applying it and rebuilding it both decide). */
export function grantAuthority(reads: DelegationReads, index: number, record: ConsentGrantRecord): GrantAuthority {
  const own = reads.identityOf(record.author) ?? record.author;
  if (record.onBehalfOf === undefined) return { identity: own };
  const identity = reads.identityOf(record.onBehalfOf) ?? record.onBehalfOf;
  const found = delegationFor(reads, { identity, author: record.author, power: 'grant', works: worksOfGrant(record), index, time: record.time });
  if ('problem' in found) return { identity: own, refused: found.problem };
  const { delegation } = found;
  return { identity, grantedBy: { agent: record.author, role: delegation.role, delegationIndex: delegation.index } };
}


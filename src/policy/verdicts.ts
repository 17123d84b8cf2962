/**
 * Verdicts of the consent policy (spec/policy.md) and the order in which they win when several
 * apply: the earliest in VERDICT_PRECEDENCE is reported.
 */
import { LedgerError } from '../errors.js';
import type { KeyRef, ModelId } from '../records/index.js';
import type { GrantedBy } from './delegation.js';

export const VERDICT_PRECEDENCE = [
  'no-consent',
  'unconsented-near-copy',
  'disputed',
  'wrong-author',
  'revoked',
  'expired',
  'licensee-mismatch',
  'use-not-allowed',
  'commercial-not-allowed',
  'retention-overdue',
  'consented',
] as const;

export type Verdict = (typeof VERDICT_PRECEDENCE)[number];

export interface Judgement {
  verdict: Verdict;
  /** One sentence a creator or builder can act on. */
  reason: string;
  /** The grant that decided (after following supersession), when the item named one that resolved. */
  consentIndex?: number;
  /** Creators (identity keys) whose claims on the work are in force for the use (spec/policy.md §2), first claimant first. */
  claimants: KeyRef[];
  /**
   * The use's logged time (spec/policy.md "The clock"), which its validity windows were judged
   * by; absent for a use logged before the log's first clock record, judged by its claimed time.
   */
  loggedAt?: string;
  /** Hamming distance to the near work that decided (rule 1a, spec/policy.md), when one did. */
  distance?: number;
  /** Set when judged for a model derived from the use's model. */
  via?: { lineageIndex: number; model: ModelId };
  /**
   * Set when the use was declared by a builder key while it was compromised (spec/policy.md §2,
   * Key lifecycle): declared so, from index `since`, by the rotation at `recordIndex`.
   */
  compromisedKey?: { key: KeyRef; since: number; recordIndex: number };
  /**
   * Who is behind the grant named (spec/policy.md, "Identity levels"): set only when the policy
   * judges with a verifier's trust policy, so the server's verdicts never carry one.
   */
  identity?: IdentityBacking;
  /**
   * Set when the deciding grant was made on the creator's behalf by an agent or rights holder
   * under a delegation (spec/policy.md §2, Delegation): who granted it, in what role.
   */
  grantedBy?: GrantedBy;
}

/** How a verifier knows who holds a key, strongest first (spec/policy.md, "Identity levels"). */
export const IDENTITY_LEVELS = ['attested', 'domain', 'profile', 'unverified'] as const;
export type IdentityLevel = (typeof IDENTITY_LEVELS)[number];

export interface IdentityBacking {
  /** The identity (first key of its rotation chain). */
  key: KeyRef;
  level: IdentityLevel;
  /** The attester key (attested), or the evidence URL (domain, profile). */
  by?: string;
  /** The name the attestation gives the identity (attested). */
  name?: string;
}

/** A misuse of the policy engine (feeding it out of order, asking about an unknown use). */
export class PolicyError extends LedgerError {}

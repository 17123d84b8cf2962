/**
 * Verdicts of the consent policy (spec/policy.md) and the order in which they win when several
 * apply: the earliest in VERDICT_PRECEDENCE is reported.
 */
import { LedgerError } from '../errors.js';
import type { KeyRef, ModelId } from '../records/index.js';

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
  /** Hamming distance to the near work that decided (rule 1a, spec/policy.md), when one did. */
  distance?: number;
  /** Set when judged for a model derived from the use's model. */
  via?: { lineageIndex: number; model: ModelId };
}

/** A misuse of the policy engine (feeding it out of order, asking about an unknown use). */
export class PolicyError extends LedgerError {}

/**
 * The consent policy (spec/policy.md): judges training-use items against the consent records
 * before them in the log. Browser-safe and deterministic.
 */
export { type Verdict, type Judgement, type IdentityBacking, type IdentityLevel, IDENTITY_LEVELS, VERDICT_PRECEDENCE, PolicyError } from './verdicts.js';
export { type JudgeOptions, type ItemJudgement, type ConsentStatus, type ModelView, type DerivedModel, type TrustView, type IdentityEvidence, ConsentPolicy } from './consent-policy.js';
export { CATEGORIES_FOR_PURPOSE } from './judge.js';
export type { LineageEdge } from './state.js';
export { type PolicyFacts, type Rotation, type Compromise, type LogClock, type ModelLinks, FactMissing, MemoryFacts, ResidentReads } from './facts.js';
export { type AttestationState, type GrantState, type UseState, type RevocationState, type RetirementState, newGrantState, newUseState } from './state.js';
export { type DelegationState, type GrantedBy, type GrantAuthority, grantAuthority } from './delegation.js';
export type { RulingState } from './rulings.js';

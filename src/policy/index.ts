/**
 * The consent policy (spec/policy.md): judges training-use items against the consent records
 * before them in the log. Browser-safe and deterministic.
 */
export { type Verdict, type Judgement, VERDICT_PRECEDENCE, PolicyError } from './verdicts.js';
export { type JudgeOptions, type ItemJudgement, type ConsentStatus, type ModelView, type DerivedModel, type TrustView, ConsentPolicy } from './consent-policy.js';
export { CATEGORIES_FOR_PURPOSE } from './judge.js';
export type { LineageEdge } from './state.js';
export { type PolicyFacts, type Rotation, type ModelLinks, FactMissing, MemoryFacts, ResidentReads } from './facts.js';
export { type GrantState, type UseState, type RevocationState, type RetirementState, newGrantState, newUseState } from './state.js';

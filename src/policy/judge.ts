/**
 * The verdict for one training-use item (spec/policy.md). Checks run in the order of
 * VERDICT_PRECEDENCE, so the first that fails is the verdict.
 */
import type { ConsentGrantRecord, KeyRef, ModelId, TrainingPurpose, UseCategory, UseItem } from '../records/index.js';
import type { Judgement, Verdict } from './verdicts.js';
import type { GrantState, UseState } from './state.js';

/** What judging needs to know about the log; implemented by ConsentPolicy. */
export interface PolicyView {
  /** The log index a consent reference names, or why it names none. */
  resolveRef(ref: { index: number } | { leafHash: string }): { index: number } | { problem: string };
  grant(index: number): GrantState | undefined;
  describeEntry(index: number): string;
  claimants(item: UseItem, before: number): KeyRef[];
  isRetired(model: ModelId, now: string): boolean;
}

/** The model being judged: the use's own model, or one derived from it. */
export interface JudgedModel {
  id: ModelId;
  builder: KeyRef;
  via?: { lineageIndex: number; model: ModelId };
}

/** Which CAWG categories a training purpose needs allowed (spec/policy.md, "Purposes"). */
export const CATEGORIES_FOR_PURPOSE: Readonly<Record<TrainingPurpose, readonly UseCategory[]>> = {
  'generative-training': ['ai_generative_training'],
  training: ['ai_training'],
  // A fine-tune may produce a generative model or not; without knowing, both must be allowed.
  'fine-tuning': ['ai_generative_training', 'ai_training'],
};

type Outcome = { verdict: Verdict; reason: string; consentIndex?: number };

export function judge(view: PolicyView, use: UseState, item: UseItem, model: JudgedModel, now: string): Judgement {
  const claimants = view.claimants(item, use.index);
  const outcome = judgeConsent(view, use, item, model, claimants, now);
  return { ...outcome, claimants, ...(model.via ? { via: model.via } : {}) };
}

function judgeConsent(view: PolicyView, use: UseState, item: UseItem, model: JudgedModel, claimants: KeyRef[], now: string): Outcome {
  const found = findGrant(view, use, item);
  if ('verdict' in found) return found;
  const { grant, effective, withdrawnBy } = found;
  const consentIndex = effective.index;
  const fail = (verdict: Verdict, reason: string): Outcome => ({ verdict, reason, consentIndex });
  const useTime = use.record.time;

  if (!withdrawnBy && useTime < effective.record.validFrom) {
    return fail('no-consent', `grant ${consentIndex} is valid only from ${effective.record.validFrom}; the use claims ${useTime}`);
  }
  if (claimants.length > 1) return fail('disputed', `the work is claimed by ${claimants.length} creators: ${claimants.join(', ')}`);
  const authorProblem = wrongAuthor(grant, claimants);
  if (authorProblem) return fail('wrong-author', authorProblem);
  if (withdrawnBy !== undefined) return fail('revoked', `grant ${grant.index} was superseded at index ${withdrawnBy} by a grant that does not name this work`);
  const revocation = effective.revocations.find((r) => r.index < use.index && (r.immediate || useTime >= r.effective));
  if (revocation) return fail('revoked', `grant ${consentIndex} was revoked at index ${revocation.index}, effective ${revocation.effective}, before the use at index ${use.index}`);
  const terms = effective.record;
  if (terms.validUntil !== undefined && useTime >= terms.validUntil) return fail('expired', `grant ${consentIndex} was valid until ${terms.validUntil}; the use claims ${useTime}`);
  const licenseeProblem = licenseeMismatch(terms, [use.builder, model.builder]);
  if (licenseeProblem) return fail('licensee-mismatch', licenseeProblem);
  const useProblem = useNotAllowed(terms, use.record.purpose);
  if (useProblem) return fail('use-not-allowed', useProblem);
  if (use.record.commercial && !terms.commercial) return fail('commercial-not-allowed', `grant ${consentIndex} does not allow commercial use`);
  if (terms.retireBy !== undefined && now >= terms.retireBy && !view.isRetired(model.id, now)) {
    return fail('retention-overdue', `grant ${consentIndex} requires models trained on the work to be retired by ${terms.retireBy}; ${model.id} is not retired`);
  }
  return fail('consented', `grant ${consentIndex} covers this use`);
}

type FoundGrant = { grant: GrantState; effective: GrantState; withdrawnBy?: number };

/**
 * The grant the item relies on and the one in force at the use (following supersession through
 * grants logged before the use), or the no-consent outcome if there is none.
 */
function findGrant(view: PolicyView, use: UseState, item: UseItem): FoundGrant | Outcome {
  const noConsent = (reason: string): Outcome => ({ verdict: 'no-consent', reason });
  if ('none' in item.consent) return noConsent('the item declares that it relies on no consent');
  const resolved = view.resolveRef(item.consent);
  if ('problem' in resolved) return noConsent(resolved.problem);
  const grant = view.grant(resolved.index);
  if (!grant) return noConsent(`log entry ${resolved.index} is ${view.describeEntry(resolved.index)}, not a consent grant`);
  if (grant.index >= use.index) return noConsent(`grant ${grant.index} was logged after the use at index ${use.index}`);
  if (!namesWork(grant, item)) return noConsent(`grant ${grant.index} does not name this work`);
  let effective = grant;
  while (effective.supersededBy !== undefined && effective.supersededBy < use.index) {
    const next = view.grant(effective.supersededBy)!;
    if (!namesWork(next, item)) return { grant, effective, withdrawnBy: next.index };
    effective = next;
  }
  return { grant, effective };
}

/** A grant names an item's work if it lists the item's sha256, or one of its perceptual identifiers. */
export function namesWork(grant: GrantState, item: UseItem): boolean {
  return item.work.some((id) => grant.ids.has(id));
}

function wrongAuthor(grant: GrantState, claimants: KeyRef[]): string | undefined {
  if (grant.rotatedKey) {
    return `grant ${grant.index} is signed by ${grant.author}, a key rotated to ${grant.rotatedKey.to} at index ${grant.rotatedKey.rotationIndex} before the grant was logged`;
  }
  if (claimants.length === 1 && claimants[0] !== grant.identity) {
    return `grant ${grant.index} is by ${grant.identity}, but the work is claimed by ${claimants[0]}`;
  }
  return undefined;
}

function licenseeMismatch(terms: ConsentGrantRecord, builders: KeyRef[]): string | undefined {
  if (terms.licensees === 'anyone') return undefined;
  const outsider = builders.find((b) => !(terms.licensees as string[]).includes(b));
  return outsider ? `builder ${outsider} is not among the grant's licensees` : undefined;
}

function useNotAllowed(terms: ConsentGrantRecord, purpose: TrainingPurpose): string | undefined {
  for (const category of CATEGORIES_FOR_PURPOSE[purpose]) {
    const decision = terms.uses[category];
    if (decision.use === 'notAllowed') return `${category} is not allowed (purpose ${purpose})`;
    if (decision.use === 'constrained') return `${category} is constrained (${JSON.stringify(decision.constraint_info)}), which the policy cannot check and counts as not allowed`;
  }
  return undefined;
}

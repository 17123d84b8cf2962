/**
 * The verdict for one training-use item (spec/policy.md). Checks run in the order of
 * VERDICT_PRECEDENCE, so the first that fails is the verdict.
 */
import type { ConsentGrantRecord, KeyRef, ModelId, TrainingPurpose, UseCategory, UseItem } from '../records/index.js';
import type { GrantedBy } from './delegation.js';
import type { IdentityBacking, Judgement, Verdict } from './verdicts.js';
import { type GrantState, type UseState, revocationBinds, useTimeOf } from './state.js';

/** What judging needs to know about the log; implemented by ConsentPolicy. */
export interface PolicyView {
  /** The log index a consent reference names, or why it names none. */
  resolveRef(ref: { index: number } | { leafHash: string }): { index: number } | { problem: string };
  grant(index: number): GrantState | undefined;
  describeEntry(index: number): string;
  /** The creators whose grants claim the item's work for the use (spec/policy.md §2, Claims). */
  claimantsFor(item: UseItem, use: UseState, horizon?: number): KeyRef[];
  /**
   * Whether a retirement effective by `now` is logged after log index `after` (and before
   * `before`, when given).
   */
  isRetired(model: ModelId, now: string, before?: number, after?: number): boolean;
  /**
   * Grants logged before `before`, not by rotated keys and not naming the item's sha256, that
   * name a perceptual identifier within the scheme's threshold of one of the item's (0 included):
   * nearest first, then by grant index (rule 1a).
   */
  nearGrants(item: UseItem, before: number, horizon?: number): NearGrant[];
  /**
   * Why a grant is void, if it is: its key declared compromised by its own committed next key
   * (counted when declared before `horizon`, JudgeOptions.before), or by an attester the verifier trusts.
   */
  voidedBy?(grant: GrantState, horizon?: number): string | undefined;
  /** The self-declared compromise voiding the record `key` signed at `index` (spec/policy.md §2, Key lifecycle), declared before `horizon`. */
  compromiseOf(key: KeyRef, index: number, horizon?: number): { since: number; recordIndex: number; to: KeyRef } | undefined;
  /** Who is behind an identity for the use, by the verifier's trust policy; undefined without one. */
  identityBehind?(identity: KeyRef, use: UseState): IdentityBacking | undefined;
}

export interface NearGrant {
  grantIndex: number;
  identity: KeyRef;
  /** The grant's identifier that is near the item's. */
  id: string;
  distance: number;
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

type Outcome = { verdict: Verdict; reason: string; consentIndex?: number; distance?: number; grantedBy?: GrantedBy };

/**
 * `before`: judge from the records logged before that index only. Every rule but the retirement
 * check already reads only records logged before the use; `before` bounds that one too, so the
 * verdict cannot change as the log grows (what GET /stats tallies).
 */
export function judge(view: PolicyView, use: UseState, item: UseItem, model: JudgedModel, now: string, before?: number): Judgement {
  const claimants = view.claimantsFor(item, use, before);
  const outcome = judgeConsent(view, use, item, model, claimants, { now, before });
  const identity = outcome.consentIndex !== undefined ? view.identityBehind?.(view.grant(outcome.consentIndex)!.identity, use) : undefined;
  const compromisedKey = compromisedBuilder(view, use, before);
  return {
    ...outcome,
    claimants,
    ...(identity ? { identity } : {}),
    ...(model.via ? { via: model.via } : {}),
    ...(use.loggedAt !== undefined ? { loggedAt: use.loggedAt } : {}),
    ...(compromisedKey ? { compromisedKey } : {}),
  };
}

/**
 * A use declared by a builder key while it was compromised keeps its verdict — the declaration
 * is still evidence a creator should see — but is flagged: the thief may have declared it.
 */
function compromisedBuilder(view: PolicyView, use: UseState, horizon: number | undefined): Judgement['compromisedKey'] {
  const compromise = view.compromiseOf(use.builder, use.index, horizon);
  return compromise && { key: use.builder, since: compromise.since, recordIndex: compromise.recordIndex };
}

/** When the item is judged: the time deadlines are compared with, and optionally a log position. */
type JudgedAt = { now: string; before?: number };

function judgeConsent(view: PolicyView, use: UseState, item: UseItem, model: JudgedModel, claimants: KeyRef[], at: JudgedAt): Outcome {
  const found = findGrant(view, use, item, at.before);
  if ('verdict' in found) return judgeNearCopy(view, use, item, model, at, found);
  return judgeGrant(view, use, model, claimants, at, found);
}

/**
 * Rule 1a (spec/policy.md): an item without exact consent that is a near copy of works named in
 * earlier grants. Any near creator whose grants do not cover the use makes it an
 * `unconsented-near-copy`; if all cover it and the item relies on one of those grants, it is
 * consented at that distance; otherwise the no-consent outcome stands.
 */
function judgeNearCopy(view: PolicyView, use: UseState, item: UseItem, model: JudgedModel, at: JudgedAt, exact: Outcome): Outcome {
  const near = view.nearGrants(item, use.index, at.before);
  if (near.length === 0) return exact;
  const judged = near.map((n) => {
    const grant = view.grant(n.grantIndex)!;
    // Judged as if the item named the near identifier and relied on this grant. Rules 2–3 are
    // about who claims the item's own identifiers, not the near one, so no claimants are passed.
    const found = followSupersession(view, grant, use.index, (g) => g.ids.has(n.id), at.before);
    return { ...n, outcome: judgeGrant(view, use, model, [], at, found) };
  });
  const covering = new Set(judged.filter((j) => j.outcome.verdict === 'consented').map((j) => j.identity));
  const objection = judged.find((j) => !covering.has(j.identity));
  if (objection) {
    const { outcome, distance, id, grantIndex, identity } = objection;
    return {
      verdict: 'unconsented-near-copy',
      reason: `the work is a near copy (distance ${distance}) of ${id}, named by grant ${grantIndex} of ${identity}, whose consent does not cover this use: ${outcome.reason}`,
      ...(outcome.consentIndex !== undefined ? { consentIndex: outcome.consentIndex } : {}),
      distance,
    };
  }
  const ref = 'none' in item.consent ? undefined : view.resolveRef(item.consent);
  const relied = ref && 'index' in ref ? judged.find((j) => j.grantIndex === ref.index) : undefined;
  if (!relied) return exact;
  return { ...relied.outcome, reason: `the work is a near copy (distance ${relied.distance}) of ${relied.id}; ${relied.outcome.reason}`, distance: relied.distance };
}

/** Rules 1 (validFrom) and 2–10 for an item that relies on `found`. */
function judgeGrant(view: PolicyView, use: UseState, model: JudgedModel, claimants: KeyRef[], at: JudgedAt, found: FoundGrant): Outcome {
  const now = at.now;
  const { grant, effective, withdrawnBy } = found;
  const consentIndex = effective.index;
  const fail = (verdict: Verdict, reason: string): Outcome => ({ verdict, reason, consentIndex, ...(effective.grantedBy ? { grantedBy: effective.grantedBy } : {}) });
  const useTime = useTimeOf(use);
  const useWhen = describeUseTime(use);

  if (!withdrawnBy && useTime < effective.record.validFrom) {
    return fail('no-consent', `grant ${consentIndex} is valid only from ${effective.record.validFrom}; ${useWhen}`);
  }
  if (claimants.length > 1) return fail('disputed', `the work is claimed by ${claimants.length} creators: ${claimants.join(', ')}`);
  const authorProblem = wrongAuthor(found, claimants);
  if (authorProblem) return fail('wrong-author', authorProblem);
  if (withdrawnBy !== undefined) return fail('revoked', `grant ${grant.index} was superseded at index ${withdrawnBy} by a grant that does not name this work`);
  // A revocation by a compromised key (the thief's) counts for nothing.
  const revocation = effective.revocations?.find((r) => revocationBinds(r, use.index, useTime) && !view.compromiseOf(r.author, r.index, at.before));
  if (revocation) return fail('revoked', `grant ${consentIndex} was revoked at index ${revocation.index}, effective ${revocation.effective}, before the use at index ${use.index}${use.loggedAt !== undefined ? `, ${useWhen}` : ''}`);
  const terms = effective.record;
  if (terms.validUntil !== undefined && useTime >= terms.validUntil) return fail('expired', `grant ${consentIndex} was valid until ${terms.validUntil}; ${useWhen}`);
  const licenseeProblem = licenseeMismatch(terms, [use.builder, model.builder]);
  if (licenseeProblem) return fail('licensee-mismatch', licenseeProblem);
  const useProblem = useNotAllowed(terms, use.record.purpose);
  if (useProblem) return fail('use-not-allowed', useProblem);
  if (use.record.commercial && !terms.commercial) return fail('commercial-not-allowed', `grant ${consentIndex} does not allow commercial use`);
  // Only a retirement logged after the use retires what the use trained: one logged before it
  // (before the model was even declared, say) was followed by more training.
  if (terms.retireBy !== undefined && now >= terms.retireBy && !view.isRetired(model.id, now, at.before, use.index)) {
    return fail('retention-overdue', `grant ${consentIndex} requires models trained on the work to be retired by ${terms.retireBy}; ${model.id} has no retirement logged after the use at index ${use.index}`);
  }
  return fail('consented', `grant ${consentIndex} covers this use${grantedByClause(effective)}`);
}

/**
 * `unauthorised`: the first grant of the supersession chain followed (from `grant` to the one
 * that withdrew the work or `effective`) signed by a key already rotated away when it was logged.
 */
type FoundGrant = { grant: GrantState; effective: GrantState; withdrawnBy?: number; unauthorised?: GrantState; voided?: string };

/**
 * The grant the item relies on and the one in force at the use (following supersession through
 * grants logged before the use), or the no-consent outcome if there is none.
 */
function findGrant(view: PolicyView, use: UseState, item: UseItem, horizon: number | undefined): FoundGrant | Outcome {
  const noConsent = (reason: string): Outcome => ({ verdict: 'no-consent', reason });
  if ('none' in item.consent) return noConsent('the item declares that it relies on no consent');
  const resolved = view.resolveRef(item.consent);
  if ('problem' in resolved) return noConsent(resolved.problem);
  const grant = view.grant(resolved.index);
  if (!grant) return noConsent(`log entry ${resolved.index} is ${view.describeEntry(resolved.index)}, not a consent grant`);
  if (grant.index >= use.index) return noConsent(`grant ${grant.index} was logged after the use at index ${use.index}`);
  if (!namesWork(grant, item)) return noConsent(`grant ${grant.index} does not name this work`);
  return followSupersession(view, grant, use.index, (g) => namesWork(g, item), horizon);
}

/** The use's time as a reason names it: logged (spec/policy.md "The clock"), or claimed in a log without a clock. */
function describeUseTime(use: UseState): string {
  return use.loggedAt !== undefined ? `the use was logged at ${use.loggedAt}` : `the use claims ${use.record.time} (logged before the log's first clock record)`;
}

/** From `grant`, follow supersessions logged before `before` while the next grant still `names` the work. */
function followSupersession(view: PolicyView, grant: GrantState, before: number, names: (g: GrantState) => boolean, horizon: number | undefined): FoundGrant {
  let effective = grant;
  let unauthorised = grant.rotatedKey ? grant : undefined;
  let voided = view.voidedBy?.(grant, horizon);
  while (effective.supersededBy !== undefined && effective.supersededBy < before) {
    const next = view.grant(effective.supersededBy)!;
    // The policy links no supersession by a rotated key (spec/policy.md §2), but facts stored
    // under older rules may hold one: it must not hand the work to whoever holds that key.
    if (!unauthorised && next.rotatedKey) unauthorised = next;
    voided ??= view.voidedBy?.(next, horizon);
    if (!names(next)) return { grant, effective, withdrawnBy: next.index, ...(unauthorised ? { unauthorised } : {}), ...(voided ? { voided } : {}) };
    effective = next;
  }
  return { grant, effective, ...(unauthorised ? { unauthorised } : {}), ...(voided ? { voided } : {}) };
}

/** Who granted, when an agent or rights holder did it on the creator's behalf. */
function grantedByClause(grant: GrantState): string {
  const by = grant.grantedBy;
  return by ? ` (granted for ${grant.identity} by ${by.role === 'rights-holder' ? 'rights holder' : 'agent'} ${by.agent} under delegation ${by.delegationIndex})` : '';
}

/** A grant names an item's work if it lists the item's sha256, or one of its perceptual identifiers. */
export function namesWork(grant: GrantState, item: UseItem): boolean {
  return item.work.some((id) => grant.ids.has(id));
}

/** Rule 3: a grant of the chain by a rotated key, or a work claimed by another creator. */
function wrongAuthor(found: FoundGrant, claimants: KeyRef[]): string | undefined {
  const { grant, unauthorised } = found;
  if (unauthorised?.rotatedKey) {
    const { author, index, rotatedKey } = unauthorised;
    const role = index === grant.index ? '' : `, in the supersession chain of grant ${grant.index},`;
    return `grant ${index}${role} is signed by ${author}, a key rotated to ${rotatedKey.to} at index ${rotatedKey.rotationIndex} before the grant was logged`;
  }
  if (found.voided) return found.voided;
  if (grant.onBehalfRefused !== undefined) return `grant ${grant.index} is made on behalf of ${grant.record.onBehalfOf} by ${grant.author}, but ${grant.onBehalfRefused}`;
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

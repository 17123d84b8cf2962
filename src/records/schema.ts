/**
 * The record payloads, as zod schemas (spec/records.md is the prose version of this file).
 *
 * Every object is strict (unknown fields are errors) and every optional container must be
 * non-empty when present, so that one meaning has one spelling — the log stores bytes, and two
 * spellings of the same record would be two different entries.
 */
import { z } from 'zod';
import { nextKeyCommitment } from './commitments.js';
import { isKeyRef, preview } from './keys.js';
import { isRecordTime } from './time.js';
import { isWorkId, schemeBefore, WORK_ID_DESCRIPTION, workIdScheme, type WorkIdScheme } from './works.js';

export const RECORD_TYPES = ['creator', 'consent-grant', 'consent-revocation', 'training-use', 'model-lineage', 'model-retirement', 'attestation', 'attestation-revocation', 'delegation', 'delegation-revocation', 'dispute-ruling', 'clock'] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

/** The CAWG training-and-data-mining categories a grant decides. */
export const USE_CATEGORIES = ['ai_generative_training', 'ai_training', 'ai_inference', 'data_mining'] as const;
export type UseCategory = (typeof USE_CATEGORIES)[number];

export const TRAINING_PURPOSES = ['generative-training', 'training', 'fine-tuning'] as const;
export type TrainingPurpose = (typeof TRAINING_PURPOSES)[number];

export const LINEAGE_RELATIONS = ['fine-tuning', 'distillation', 'merging', 'other'] as const;

/** Inline items in one training-use record; more go in a manifest. */
export const MAX_INLINE_ITEMS = 256;
export const MAX_GRANT_WORKS = 1000;
export const MAX_LICENSEES = 256;

// ---- checks ------------------------------------------------------------------------------

/*
 * Cross-field rules are zod checks (`.check`) rather than `.superRefine`: the same issues, but no
 * closure allocated per value — they run for every record. An issue keeps the parse going
 * (`continue`), as superRefine's did, so the first issue reported stays the same.
 */
type Payload<T> = z.core.ParsePayload<T>;

function addIssue(payload: Payload<unknown>, message: string, path: PropertyKey[] | undefined, code?: 'bad-work-id' | 'bad-time'): void {
  payload.issues.push({ code: 'custom', message, path, input: payload.value, continue: true, ...(code ? { params: { code } } : {}) });
}

// ---- leaf values -------------------------------------------------------------------------

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
const CONTROL_CHARS_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f]/;

/** One line of human text: a name, a payee. */
const line = (max: number) =>
  z
    .string()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine((s) => !LONE_SURROGATE.test(s) && !CONTROL_CHARS.test(s), 'must be well-formed Unicode without control characters');

/** Free text that may span lines: constraint details, compensation terms, statements. */
const prose = (max: number) =>
  z
    .string()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine((s) => !LONE_SURROGATE.test(s) && !CONTROL_CHARS_BUT_NEWLINE.test(s), 'must be well-formed Unicode without control characters other than newline');

export const keyRefSchema = z.string().refine(isKeyRef, { error: (iss) => `must be ed25519:<64 lowercase hex>, got ${preview(iss.input)}`, params: { code: 'bad-key' } });

export const timeSchema = z.string().refine(isRecordTime, {
  error: (iss) => `must be an RFC 3339 UTC time with seconds precision (2026-11-23T05:00:00Z) from 2000-01-01 up to 2100-01-01, got ${preview(iss.input)}`,
  params: { code: 'bad-time' },
});

export const workIdSchema = z.string().refine(isWorkId, { error: (iss) => `must be ${WORK_ID_DESCRIPTION}, got ${preview(iss.input)}`, params: { code: 'bad-work-id' } });

const sha256WorkIdSchema = workIdSchema.refine((s: string) => s.startsWith('sha256:'), { error: 'must be a sha256:<64 hex> identifier', params: { code: 'bad-work-id' } });

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits (32 bytes)');

/** Log indexes and counts: JSON numbers are exact only up to 2^53 − 1. */
const logIndex = z.number().int('must be an integer').min(0, 'must not be negative').max(Number.MAX_SAFE_INTEGER, 'must be below 2^53');

const httpUrl = z
  .string()
  .max(512, 'must be at most 512 characters')
  .refine(isHttpUrl, { error: (iss) => `must be an absolute http(s) URL, got ${preview(iss.input)}` });

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'https:' || u.protocol === 'http:') && !CONTROL_CHARS.test(s) && !/\s/.test(s);
  } catch {
    return false;
  }
}

/** A non-empty list of distinct values; `what` names the values in the error. */
function distinctList<T extends z.ZodType>(item: T, max: number, what: string) {
  return z
    .array(item)
    .min(1, 'must not be empty')
    .max(max, `must have at most ${max} ${what}`)
    .check((payload) => {
      const list = payload.value as unknown[];
      if (list.length < 2) return;
      const seen = new Set<unknown>();
      for (let i = 0; i < list.length; i++) {
        const x = list[i];
        if (seen.has(x)) addIssue(payload, `repeats ${preview(x)}`, [i]);
        seen.add(x);
      }
    });
}

const SCHEME_BITS: Readonly<Record<WorkIdScheme, number>> = { sha256: 0, phash: 1, pdq: 2, tcode: 3 };

/** Which scheme a work identifier has, as a bit number; -1 for a string that is none (its element check reports it). */
function schemeOf(id: string): number {
  const scheme = schemeBefore(id, id.indexOf(':'));
  return scheme === undefined ? -1 : SCHEME_BITS[scheme];
}

/**
 * The identifiers of one work: exactly one `sha256:` (the bytes) plus at most one identifier of
 * each perceptual scheme.
 */
export const workIdentifiersSchema = z
  .array(workIdSchema)
  .min(1, 'must name the work by at least its sha256: identifier')
  .max(4, 'must have at most 4 identifiers (one per scheme)')
  .check((payload) => {
    const ids = payload.value;
    let schemes = 0; // bit per scheme seen
    for (let i = 0; i < ids.length; i++) {
      const scheme = schemeOf(ids[i]);
      if (scheme < 0) continue; // not a work id: reported by the element's own check
      if (schemes & (1 << scheme)) addIssue(payload, `has a second ${workIdScheme(ids[i])}: identifier`, [i], 'bad-work-id');
      schemes |= 1 << scheme;
    }
    if (!(schemes & 1)) addIssue(payload, 'must include the sha256: identifier of the work', undefined, 'bad-work-id');
  });

const REF_SHAPES = '{"index": N} | {"leafHash": "<64 hex>"}';

/** A log entry named by its index or its RFC 6962 leaf hash. */
export const recordRefSchema = z.union([z.strictObject({ index: logIndex }), z.strictObject({ leafHash: hex64 })], {
  error: (iss) => `must be ${REF_SHAPES}, got ${preview(iss.input)}`,
});

/** What an item relies on: a consent record, or explicitly nothing. */
export const consentRefSchema = z.union([z.strictObject({ index: logIndex }), z.strictObject({ leafHash: hex64 }), z.strictObject({ none: z.literal(true) })], {
  error: (iss) => `must be ${REF_SHAPES} | {"none": true}, got ${preview(iss.input)}`,
});

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const MODEL_VERSION = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;
const modelName = z.string().regex(MODEL_NAME, 'must be 1-100 characters of A-Z a-z 0-9 . _ - starting with a letter or digit');
const modelVersion = z.string().regex(MODEL_VERSION, 'must be 1-64 characters of A-Z a-z 0-9 . _ + - starting with a letter or digit');

// ---- records ----------------------------------------------------------------------------

const common = { v: z.literal(1, 'must be 1 (the only schema version)'), author: keyRefSchema, time: timeSchema };

export const creatorSchema = z
  .strictObject({
    type: z.literal('creator'),
    ...common,
    /** Optional: nothing personal is needed to consent, and the log is public and permanent. */
    name: line(200).optional(),
    claims: z
      .strictObject({
        website: httpUrl.optional(),
        profiles: distinctList(httpUrl, 16, 'profiles').optional(),
        /** Legacy: unsalted, so guessing addresses reverses it. Still parsed; refused at admission (use emailCommitment). */
        emailSha256: hex64.optional(),
        /** Salted commitment to an e-mail address (commitments.ts): checkable by whom the creator tells the salt. */
        emailCommitment: hex64.optional(),
      })
      .refine((c) => Object.keys(c).length > 0, 'must have at least one claim when present')
      .optional(),
    /** Pre-rotation: SHA-256 of the next key's public key; only that key can rotate this one. */
    next: hex64.optional(),
    /** Key rotation: this (new) key succeeds `from`; `sig` is the old key's endorsement, optional when this key is `from`'s committed next key. */
    rotation: z
      .strictObject({
        from: keyRefSchema,
        sig: z.string().regex(/^[A-Za-z0-9+/]{86}==$/, 'must be the standard base64 of a 64-byte Ed25519 signature').optional(),
      })
      .optional(),
    /** With a rotation by the committed next key: `from`'s records logged at index >= since are void. */
    compromised: z.strictObject({ since: logIndex }).optional(),
  })
  .check((payload) => {
    const r = payload.value;
    if (r.rotation && r.rotation.from === r.author) addIssue(payload, 'must differ from the author: a key cannot rotate to itself', ['rotation', 'from']);
    if (r.compromised && !r.rotation) addIssue(payload, 'is only allowed in a rotation (by the key the compromised one committed to)', ['compromised']);
    if (r.next !== undefined && isKeyRef(r.author) && r.next === nextKeyCommitment(r.author)) addIssue(payload, 'must commit to a key other than the author (a fresh next key)', ['next']);
  });

const useDecision = z
  .strictObject({
    use: z.enum(['allowed', 'notAllowed', 'constrained'], 'must be "allowed", "notAllowed" or "constrained"'),
    constraint_info: prose(1000).optional(),
  })
  .check((payload) => {
    const d = payload.value;
    if (d.use === 'constrained' && d.constraint_info === undefined) addIssue(payload, 'is required when use is "constrained"', ['constraint_info']);
    if (d.use !== 'constrained' && d.constraint_info !== undefined) addIssue(payload, 'is only allowed when use is "constrained"', ['constraint_info']);
  });

export const consentGrantSchema = z
  .strictObject({
    type: z.literal('consent-grant'),
    ...common,
    /** Each element names one work by its identifiers. */
    works: z.array(workIdentifiersSchema).min(1, 'must name at least one work').max(MAX_GRANT_WORKS, `must name at most ${MAX_GRANT_WORKS} works`),
    uses: z.strictObject({
      ai_generative_training: useDecision,
      ai_training: useDecision,
      ai_inference: useDecision,
      data_mining: useDecision,
    }),
    commercial: z.boolean(),
    licensees: z.union([z.literal('anyone'), distinctList(keyRefSchema, MAX_LICENSEES, 'licensees')], {
      error: (iss) => `must be "anyone" or a list of builder keys, got ${preview(iss.input)}`,
    }),
    validFrom: timeSchema,
    validUntil: timeSchema.optional(),
    /** Models trained on the works must be retired by then. */
    retireBy: timeSchema.optional(),
    compensation: z
      .strictObject({
        amount: z.string().regex(/^(0|[1-9][0-9]{0,14})(\.[0-9]{1,6})?$/, 'must be a decimal string such as "12.50" (up to 15 integer and 6 fraction digits)'),
        currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as "EUR"'),
        basis: z.enum(['per-use', 'flat'], 'must be "per-use" or "flat"'),
        payee: line(256),
        text: prose(2000).optional(),
      })
      .optional(),
    supersedes: recordRefSchema.optional(),
    /** The creator identity an agent or rights holder grants for, under a delegation (spec/policy.md §2, Delegation). */
    onBehalfOf: keyRefSchema.optional(),
  })
  .check((payload) => {
    const g = payload.value;
    if (g.onBehalfOf === g.author) addIssue(payload, 'must differ from the author: a creator grants for itself without it', ['onBehalfOf']);
    if (g.validUntil !== undefined && g.validUntil <= g.validFrom) addIssue(payload, 'must be after validFrom', ['validUntil'], 'bad-time');
    if (g.retireBy !== undefined && g.retireBy <= g.validFrom) addIssue(payload, 'must be after validFrom', ['retireBy'], 'bad-time');
    reportRepeatedWorks(g.works, payload);
  });

/** A work named twice in one grant would have two sets of terms. */
function reportRepeatedWorks(works: string[][], payload: Payload<unknown>): void {
  if (works.length < 2) return; // one work's identifiers differ in scheme (workIdentifiersSchema)
  const seen = new Set<string>();
  for (let w = 0; w < works.length; w++) {
    const ids = works[w];
    for (let i = 0; i < ids.length; i++) {
      if (seen.has(ids[i])) addIssue(payload, `names ${ids[i]} a second time`, ['works', w, i], 'bad-work-id');
      seen.add(ids[i]);
    }
  }
}

export const consentRevocationSchema = z
  .strictObject({
    type: z.literal('consent-revocation'),
    ...common,
    grant: recordRefSchema,
    /** From when on uses are no longer covered (spec/policy.md: how this meets log order). */
    effective: timeSchema,
    reason: prose(1000).optional(),
    /** The creator identity an agent or rights holder revokes for, under a delegation. */
    onBehalfOf: keyRefSchema.optional(),
  })
  .check((payload) => {
    const r = payload.value;
    if (r.onBehalfOf === r.author) addIssue(payload, 'must differ from the author: a creator revokes for itself without it', ['onBehalfOf']);
  });

export const modelSchema = z.strictObject({ name: modelName, version: modelVersion, weightsDigest: sha256WorkIdSchema.optional() });

export const useItemSchema = z.strictObject({ work: workIdentifiersSchema, consent: consentRefSchema });

export const trainingUseSchema = z
  .strictObject({
    type: z.literal('training-use'),
    ...common,
    model: modelSchema,
    purpose: z.enum(TRAINING_PURPOSES, `must be one of ${TRAINING_PURPOSES.map((p) => `"${p}"`).join(', ')}`),
    commercial: z.boolean(),
    items: z.array(useItemSchema).min(1, 'must not be empty (use a manifest or leave items out)').max(MAX_INLINE_ITEMS, `must have at most ${MAX_INLINE_ITEMS} items; put more in a manifest`).optional(),
    /** Commits to a manifest (spec/records.md) by its RFC 6962 root and item count. */
    manifest: z.strictObject({ root: hex64, count: logIndex.min(1, 'must be at least 1') }).optional(),
  })
  .check((payload) => {
    const u = payload.value;
    if ((u.items === undefined) === (u.manifest === undefined)) addIssue(payload, 'a training-use record has either inline items or a manifest, not both and not neither', [u.items ? 'manifest' : 'items']);
  });

export const modelLineageSchema = z
  .strictObject({
    type: z.literal('model-lineage'),
    ...common,
    model: modelSchema,
    parent: z.strictObject({ builder: keyRefSchema, name: modelName, version: modelVersion }),
    relation: z.enum(LINEAGE_RELATIONS, `must be one of ${LINEAGE_RELATIONS.map((p) => `"${p}"`).join(', ')}`),
  })
  .check((payload) => {
    const l = payload.value;
    if (l.parent.builder === l.author && l.parent.name === l.model.name && l.parent.version === l.model.version) {
      addIssue(payload, 'a model cannot derive from itself', ['parent']);
    }
  });

export const modelRetirementSchema = z.strictObject({
  type: z.literal('model-retirement'),
  ...common,
  model: z.strictObject({ name: modelName, version: modelVersion }),
  status: z.enum(['retired', 'destroyed'], 'must be "retired" or "destroyed"'),
  effective: timeSchema,
  statement: prose(1000).optional(),
});

/**
 * The log's own clock (spec/policy.md "The clock"): signed by the log's checkpoint key and
 * written by the log alone, before admitted records. Nothing but the common fields.
 */
export const clockSchema = z.strictObject({
  type: z.literal('clock'),
  ...common,
});

export const ATTESTATION_ROLES = ['creator', 'builder', 'rights-holder', 'agent'] as const;
export type AttestationRole = (typeof ATTESTATION_ROLES)[number];
export const MAX_ATTESTATION_IDENTIFIERS = 16;

/** An identifier an attester vouches for: an http(s) URL, or another one-line id (an ISNI, a society's member number). */
const attestedIdentifier = line(512).refine((s) => !/^https?:/i.test(s) || isHttpUrl(s), { error: (iss) => `must be an absolute http(s) URL or an identifier without a URL scheme, got ${preview(iss.input)}` });

/** "This key belongs to X", signed by an attester (a collecting society, an agency, a platform). */
export const attestationSchema = z
  .strictObject({
    type: z.literal('attestation'),
    ...common,
    subject: keyRefSchema,
    role: z.enum(ATTESTATION_ROLES, `must be one of ${ATTESTATION_ROLES.map((r) => `"${r}"`).join(', ')}`),
    name: line(200),
    identifiers: distinctList(attestedIdentifier, MAX_ATTESTATION_IDENTIFIERS, 'identifiers').optional(),
    validUntil: timeSchema.optional(),
  })
  .check((payload) => {
    const a = payload.value;
    // An identity vouching for itself is what a creator record already says.
    if (a.subject === a.author) addIssue(payload, 'must differ from the author: an attester cannot attest its own key', ['subject']);
  });

/** Withdraws an attestation; `compromisedSince` also voids the subject key's records from that log index on. */
export const attestationRevocationSchema = z.strictObject({
  type: z.literal('attestation-revocation'),
  ...common,
  attestation: recordRefSchema,
  reason: prose(1000).optional(),
  compromisedSince: logIndex.optional(),
});

export const DELEGATION_ROLES = ['agent', 'rights-holder'] as const;
export type DelegationRole = (typeof DELEGATION_ROLES)[number];
export const DELEGATION_POWERS = ['grant', 'revoke'] as const;
export type DelegationPower = (typeof DELEGATION_POWERS)[number];

/** A creator lets an agent or rights holder grant and/or revoke consent for some or all of its works. */
export const delegationSchema = z
  .strictObject({
    type: z.literal('delegation'),
    ...common,
    agent: keyRefSchema,
    /** `rights-holder`: holds rights in the works (a publisher); `agent`: acts for the creator (an agency). */
    role: z.enum(DELEGATION_ROLES, `must be one of ${DELEGATION_ROLES.map((r) => `"${r}"`).join(', ')}`),
    powers: distinctList(z.enum(DELEGATION_POWERS, `must be one of ${DELEGATION_POWERS.map((p) => `"${p}"`).join(', ')}`), DELEGATION_POWERS.length, 'powers'),
    works: z.union([z.literal('all'), z.array(workIdentifiersSchema).min(1, 'must name at least one work').max(MAX_GRANT_WORKS, `must name at most ${MAX_GRANT_WORKS} works`)], {
      error: (iss) => `must be "all" or a list of works (each a list of identifiers), got ${preview(iss.input)}`,
    }),
    validUntil: timeSchema.optional(),
  })
  .check((payload) => {
    const d = payload.value;
    if (d.agent === d.author) addIssue(payload, 'must differ from the author: a creator cannot delegate to itself', ['agent']);
    if (d.works !== 'all') reportRepeatedWorks(d.works, payload);
  });

/** Ends a delegation: grants made under it stay, new ones are refused (spec/policy.md §2). */
export const delegationRevocationSchema = z.strictObject({
  type: z.literal('delegation-revocation'),
  ...common,
  delegation: recordRefSchema,
  reason: prose(1000).optional(),
});

/** An attester's ruling on who owns a work: for verifiers that trust the attester, it settles a dispute. */
export const disputeRulingSchema = z.strictObject({
  type: z.literal('dispute-ruling'),
  ...common,
  work: workIdentifiersSchema,
  owner: keyRefSchema,
  statement: prose(2000).optional(),
});

export const PAYLOAD_SCHEMAS = {
  creator: creatorSchema,
  'consent-grant': consentGrantSchema,
  'consent-revocation': consentRevocationSchema,
  'training-use': trainingUseSchema,
  'model-lineage': modelLineageSchema,
  'model-retirement': modelRetirementSchema,
  clock: clockSchema,
  attestation: attestationSchema,
  'attestation-revocation': attestationRevocationSchema,
  delegation: delegationSchema,
  'delegation-revocation': delegationRevocationSchema,
  'dispute-ruling': disputeRulingSchema,
} as const satisfies Record<RecordType, z.ZodType>;

export const payloadSchema = z.discriminatedUnion('type', [creatorSchema, consentGrantSchema, consentRevocationSchema, trainingUseSchema, modelLineageSchema, modelRetirementSchema, clockSchema, attestationSchema, attestationRevocationSchema, delegationSchema, delegationRevocationSchema, disputeRulingSchema]);

export type CreatorRecord = z.output<typeof creatorSchema>;
export type ConsentGrantRecord = z.output<typeof consentGrantSchema>;
export type ConsentRevocationRecord = z.output<typeof consentRevocationSchema>;
export type TrainingUseRecord = z.output<typeof trainingUseSchema>;
export type ModelLineageRecord = z.output<typeof modelLineageSchema>;
export type ModelRetirementRecord = z.output<typeof modelRetirementSchema>;
export type ClockRecord = z.output<typeof clockSchema>;
export type AttestationRecord = z.output<typeof attestationSchema>;
export type AttestationRevocationRecord = z.output<typeof attestationRevocationSchema>;
export type DelegationRecord = z.output<typeof delegationSchema>;
export type DelegationRevocationRecord = z.output<typeof delegationRevocationSchema>;
export type DisputeRulingRecord = z.output<typeof disputeRulingSchema>;
export type RecordPayload = z.output<typeof payloadSchema>;
export type UseItem = z.output<typeof useItemSchema>;
export type ConsentRef = z.output<typeof consentRefSchema>;
export type RecordRef = z.output<typeof recordRefSchema>;
export type ModelInfo = z.output<typeof modelSchema>;
export type UseDecision = z.output<typeof useDecision>;

/**
 * Shared test material for records and policy: deterministic keys, valid example payloads of
 * every record type, a raw signer that skips validation (to build invalid-but-signed entries),
 * and fast-check arbitraries of valid payloads.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { type PrivateKey, type Signer, formatPrivateKey, parsePrivateKey } from '../../src/note/index.js';
import { nodeEd25519Verify, nodeSigner } from '../../src/platform/node-signer.js';
import {
  type ConsentGrantRecord,
  type ConsentRevocationRecord,
  type CreatorRecord,
  type KeyRef,
  type ModelLineageRecord,
  type ModelRetirementRecord,
  type ParsedRecord,
  type RecordPayload,
  type TrainingUseRecord,
  type UseItem,
  RECORD_PAYLOAD_TYPE,
  encodeEntry,
  formatKeyRef,
  parseRecord,
  preAuthEncoding,
  signKeyRotation,
  signRecord,
  toBase64,
} from '../../src/records/index.js';
import { canonicalJsonBytes } from '../../src/records/canonical.js';

export const verify = nodeEd25519Verify;

export interface TestKey {
  key: PrivateKey;
  ref: KeyRef;
  signer: Signer;
}

/** A key derived from a label, so runs are reproducible. */
export function testKey(label: string): TestKey {
  const seed = createHash('sha256').update(`test key ${label}`).digest();
  const key = parsePrivateKey(formatPrivateKey(label.replace(/[^A-Za-z0-9.-]/g, '-') || 'k', seed));
  return { key, ref: formatKeyRef(key.publicKey), signer: nodeSigner(key) };
}

export const alice = testKey('alice');
export const bob = testKey('bob');
export const carol = testKey('carol');
export const builder1 = testKey('builder-1');
export const builder2 = testKey('builder-2');

export function sha256Id(label: string): `sha256:${string}` {
  return `sha256:${createHash('sha256').update(label).digest('hex')}`;
}

export function phashId(label: string): `phash:${string}` {
  return `phash:${createHash('sha256').update(`phash ${label}`).digest('hex').slice(0, 16)}`;
}

export const T0 = '2026-01-01T00:00:00Z';

export function creator(author: TestKey, extra: Partial<CreatorRecord> = {}): CreatorRecord {
  return { type: 'creator', v: 1, author: author.ref, time: T0, name: `Creator ${author.key.name}`, ...extra };
}

/** A creator record for `to` endorsed by `from`. */
export function rotation(from: TestKey, to: TestKey, time = T0): CreatorRecord {
  return { ...creator(to), time, rotation: signKeyRotation(from.signer, from.ref, to.ref) };
}

export const ALL_ALLOWED: ConsentGrantRecord['uses'] = {
  ai_generative_training: { use: 'allowed' },
  ai_training: { use: 'allowed' },
  ai_inference: { use: 'allowed' },
  data_mining: { use: 'allowed' },
};

export function grant(author: TestKey, works: string[][], extra: Partial<ConsentGrantRecord> = {}): ConsentGrantRecord {
  return {
    type: 'consent-grant',
    v: 1,
    author: author.ref,
    time: T0,
    works: works as ConsentGrantRecord['works'],
    uses: ALL_ALLOWED,
    commercial: true,
    licensees: 'anyone',
    validFrom: '2025-01-01T00:00:00Z',
    ...extra,
  };
}

export function revocation(author: TestKey, grantRef: ConsentRevocationRecord['grant'], effective = T0, time = T0): ConsentRevocationRecord {
  return { type: 'consent-revocation', v: 1, author: author.ref, time, grant: grantRef, effective };
}

export function use(author: TestKey, model: string, items: UseItem[], extra: Partial<TrainingUseRecord> = {}): TrainingUseRecord {
  const [name, version] = model.split('@');
  return { type: 'training-use', v: 1, author: author.ref, time: '2026-06-01T00:00:00Z', model: { name, version }, purpose: 'generative-training', commercial: false, items, ...extra };
}

export function lineage(author: TestKey, model: string, parent: { builder: TestKey; model: string }, relation: ModelLineageRecord['relation'] = 'fine-tuning'): ModelLineageRecord {
  const [name, version] = model.split('@');
  const [parentName, parentVersion] = parent.model.split('@');
  return { type: 'model-lineage', v: 1, author: author.ref, time: '2026-07-01T00:00:00Z', model: { name, version }, parent: { builder: parent.builder.ref, name: parentName, version: parentVersion }, relation };
}

export function retirement(author: TestKey, model: string, effective: string): ModelRetirementRecord {
  const [name, version] = model.split('@');
  return { type: 'model-retirement', v: 1, author: author.ref, time: effective, model: { name, version }, status: 'retired', effective };
}

export function item(work: string | string[], consent: UseItem['consent']): UseItem {
  return { work: (Array.isArray(work) ? work : [work]) as UseItem['work'], consent };
}

/** Signs and parses, as the log would see the record. */
export function signed(payload: RecordPayload, signer: TestKey): ParsedRecord {
  return parseRecord(signRecord(payload, signer.signer, { verify }), { verify });
}

/**
 * An entry for any JSON payload, signed by `signer` without validation: how tests produce
 * entries whose only fault is the one they put in.
 */
export function signRaw(payload: unknown, signer: TestKey, keyid: string = signer.ref): Uint8Array {
  const payloadBytes = canonicalJsonBytes(payload);
  const sig = signer.signer.sign(preAuthEncoding(RECORD_PAYLOAD_TYPE, payloadBytes));
  return encodeEntry({ payloadType: RECORD_PAYLOAD_TYPE, payload: toBase64(payloadBytes), signatures: [{ keyid: keyid as KeyRef, sig: toBase64(sig) }] });
}

// ---- fast-check arbitraries of valid payloads ----------------------------------------

export const KEY_POOL = ['p0', 'p1', 'p2', 'p3'].map(testKey);

const hexArb = (bytes: number) => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex'));
export const keyRefArb = fc.constantFrom(...KEY_POOL.map((k) => k.ref));
export const timeArb = fc
  .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true })
  .map((d) => `${d.toISOString().slice(0, 19)}Z`);
const sha256Arb = hexArb(32).map((h) => `sha256:${h}`);
const perceptualArb = fc.oneof(hexArb(8).map((h) => `phash:${h}`), hexArb(32).map((h) => `pdq:${h}`), hexArb(8).map((h) => `tcode:${h}`));
/** Text with any Unicode (astral planes too), but no control characters. */
const lineArb = (max: number) => fc.string({ unit: 'grapheme', minLength: 1, maxLength: max }).filter((s) => !/[\u0000-\u001f\u007f]/.test(s) && s.length <= max);
const proseArb = (max: number) => fc.array(lineArb(40), { minLength: 1, maxLength: 3 }).map((lines) => lines.join('\n')).filter((s) => s.length <= max);
const logIndexArb = fc.oneof(fc.nat(1000), fc.constant(Number.MAX_SAFE_INTEGER));
const recordRefArb = fc.oneof(logIndexArb.map((index) => ({ index })), hexArb(32).map((leafHash) => ({ leafHash })));
const consentRefArb = fc.oneof(recordRefArb, fc.constant({ none: true as const }));
const workIdsArb = fc.tuple(sha256Arb, fc.uniqueArray(perceptualArb, { maxLength: 3, selector: (id) => id.split(':')[0] })).map(([sha, others]) => [sha, ...others]);
const modelNameArb = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/);
const modelVersionArb = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,10}$/);
const modelArb = fc.record({ name: modelNameArb, version: modelVersionArb, weightsDigest: sha256Arb }, { requiredKeys: ['name', 'version'] });
const urlArb = fc.webUrl({ validSchemes: ['https'] }).filter((u) => u.length <= 512 && !/\s/.test(u));

const decisionArb = fc.oneof(
  fc.constantFrom({ use: 'allowed' as const }, { use: 'notAllowed' as const }),
  proseArb(200).map((constraint_info) => ({ use: 'constrained' as const, constraint_info })),
);

const common = { v: fc.constant(1 as const), author: keyRefArb, time: timeArb };

const creatorArb = fc
  .record(
    {
      type: fc.constant('creator' as const),
      ...common,
      name: lineArb(60),
      claims: fc.record({ website: urlArb, profiles: fc.uniqueArray(urlArb, { minLength: 1, maxLength: 3 }), emailSha256: hexArb(32), emailCommitment: hexArb(32) }, { requiredKeys: ['emailCommitment'] }),
      next: hexArb(32),
      rotate: fc.constantFrom('no', 'endorsed', 'by commitment'),
      compromisedSince: fc.nat(1000),
    },
    { requiredKeys: ['type', 'v', 'author', 'time', 'rotate'] },
  )
  .map(({ rotate, compromisedSince, ...record }) => {
    if (rotate === 'no') return record;
    const from = KEY_POOL.find((k) => k.ref !== record.author)!;
    if (rotate === 'endorsed') return { ...record, rotation: signKeyRotation(from.signer, from.ref, record.author) };
    return { ...record, rotation: { from: from.ref }, ...(compromisedSince !== undefined ? { compromised: { since: compromisedSince } } : {}) };
  });

const grantArb = fc
  .record(
    {
      type: fc.constant('consent-grant' as const),
      ...common,
      works: fc.uniqueArray(workIdsArb, { minLength: 1, maxLength: 5, selector: (ids) => ids[0] }),
      uses: fc.record({ ai_generative_training: decisionArb, ai_training: decisionArb, ai_inference: decisionArb, data_mining: decisionArb }),
      commercial: fc.boolean(),
      licensees: fc.oneof(fc.constant('anyone' as const), fc.uniqueArray(keyRefArb, { minLength: 1, maxLength: 4 })),
      validFrom: timeArb,
      validUntil: timeArb,
      retireBy: timeArb,
      compensation: fc.record(
        {
          amount: fc.constantFrom('0', '0.05', '12.50', '1000'),
          currency: fc.constantFrom('EUR', 'USD', 'JPY'),
          basis: fc.constantFrom('per-use' as const, 'flat' as const),
          payee: lineArb(40),
          text: proseArb(200),
        },
        { requiredKeys: ['amount', 'currency', 'basis', 'payee'] },
      ),
      supersedes: recordRefArb,
    },
    { requiredKeys: ['type', 'v', 'author', 'time', 'works', 'uses', 'commercial', 'licensees', 'validFrom'] },
  )
  .map((g) => {
    // Perceptual ids may repeat across works by chance only with negligible probability; the time
    // order constraints are enforced by dropping what does not fit.
    const out = { ...g };
    if (out.validUntil !== undefined && out.validUntil <= out.validFrom) delete out.validUntil;
    if (out.retireBy !== undefined && out.retireBy <= out.validFrom) delete out.retireBy;
    return out;
  });

const revocationArb = fc.record(
  { type: fc.constant('consent-revocation' as const), ...common, grant: recordRefArb, effective: timeArb, reason: proseArb(200) },
  { requiredKeys: ['type', 'v', 'author', 'time', 'grant', 'effective'] },
);

const useItemArb = fc.record({ work: workIdsArb, consent: consentRefArb });

const trainingUseArb = fc
  .record({
    type: fc.constant('training-use' as const),
    ...common,
    model: modelArb,
    purpose: fc.constantFrom('generative-training' as const, 'training' as const, 'fine-tuning' as const),
    commercial: fc.boolean(),
    body: fc.oneof(
      fc.array(useItemArb, { minLength: 1, maxLength: 8 }).map((items) => ({ items })),
      fc.record({ root: hexArb(32), count: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }) }).map((manifest) => ({ manifest })),
    ),
  })
  .map(({ body, ...rest }) => ({ ...rest, ...body }));

const lineageArb = fc
  .record({
    type: fc.constant('model-lineage' as const),
    ...common,
    model: modelArb,
    parent: fc.record({ builder: keyRefArb, name: modelNameArb, version: modelVersionArb }),
    relation: fc.constantFrom('fine-tuning' as const, 'distillation' as const, 'merging' as const, 'other' as const),
  })
  .filter((l) => !(l.parent.builder === l.author && l.parent.name === l.model.name && l.parent.version === l.model.version));

const retirementArb = fc.record(
  {
    type: fc.constant('model-retirement' as const),
    ...common,
    model: fc.record({ name: modelNameArb, version: modelVersionArb }),
    status: fc.constantFrom('retired' as const, 'destroyed' as const),
    effective: timeArb,
    statement: proseArb(200),
  },
  { requiredKeys: ['type', 'v', 'author', 'time', 'model', 'status', 'effective'] },
);

/** The log's clock (spec/policy.md "The clock"): the common fields and nothing else. */
const clockArb = fc.record({ type: fc.constant('clock' as const), ...common });

/** Any valid payload, of every record type. */
/** Another pool key than `author`: for fields that must name someone else (agent, onBehalfOf). */
const otherKey = (author: string, pick: number) => KEY_POOL.map((k) => k.ref).filter((r) => r !== author)[pick % (KEY_POOL.length - 1)];

const delegationArb = fc
  .record(
    {
      type: fc.constant('delegation' as const),
      ...common,
      agentPick: fc.nat(),
      role: fc.constantFrom('agent' as const, 'rights-holder' as const),
      powers: fc.constantFrom(['grant' as const], ['revoke' as const], ['grant' as const, 'revoke' as const], ['revoke' as const, 'grant' as const]),
      works: fc.oneof(fc.constant('all' as const), fc.uniqueArray(workIdsArb, { minLength: 1, maxLength: 4, selector: (ids) => ids[0] })),
      validUntil: timeArb,
    },
    { requiredKeys: ['type', 'v', 'author', 'time', 'agentPick', 'role', 'powers', 'works'] },
  )
  .map(({ agentPick, ...d }) => ({ ...d, agent: otherKey(d.author, agentPick) }));

const delegationRevocationArb = fc.record(
  { type: fc.constant('delegation-revocation' as const), ...common, delegation: recordRefArb, reason: proseArb(200) },
  { requiredKeys: ['type', 'v', 'author', 'time', 'delegation'] },
);

const rulingArb = fc.record(
  { type: fc.constant('dispute-ruling' as const), ...common, work: workIdsArb, owner: keyRefArb, statement: proseArb(200) },
  { requiredKeys: ['type', 'v', 'author', 'time', 'work', 'owner'] },
);

/** A grant or revocation, sometimes on behalf of another pool key. */
const onBehalf = <T extends { author: string }>(arb: fc.Arbitrary<T>) =>
  fc.tuple(arb, fc.option(fc.nat(), { nil: undefined })).map(([r, pick]) => (pick === undefined ? r : { ...r, onBehalfOf: otherKey(r.author, pick) }));

const attestationArb = fc
  .record(
    {
      type: fc.constant('attestation' as const),
      ...common,
      subjectPick: fc.nat(),
      role: fc.constantFrom('creator' as const, 'builder' as const, 'rights-holder' as const, 'agent' as const),
      name: lineArb(200),
      identifiers: fc.uniqueArray(fc.oneof(urlArb, lineArb(40).filter((s) => !/^https?:/i.test(s))), { minLength: 1, maxLength: 16 }),
      validUntil: timeArb,
    },
    { requiredKeys: ['type', 'v', 'author', 'time', 'subjectPick', 'role', 'name'] },
  )
  .map(({ subjectPick, ...a }) => ({ ...a, subject: otherKey(a.author, subjectPick) }));
const attestationRevocationArb = fc.record(
  { type: fc.constant('attestation-revocation' as const), ...common, attestation: recordRefArb, reason: proseArb(1000), compromisedSince: logIndexArb },
  { requiredKeys: ['type', 'v', 'author', 'time', 'attestation'] },
);
export const payloadArb: fc.Arbitrary<RecordPayload> = fc.oneof(creatorArb, onBehalf(grantArb), onBehalf(revocationArb), trainingUseArb, lineageArb, retirementArb, clockArb, delegationArb, delegationRevocationArb, rulingArb, attestationArb, attestationRevocationArb) as fc.Arbitrary<RecordPayload>;

export function signerOf(ref: KeyRef): TestKey {
  return KEY_POOL.find((k) => k.ref === ref)!;
}

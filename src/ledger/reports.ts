/**
 * Use reports and proof bundles (spec/bundles.md): a training-use item with the policy's verdict
 * and what a creator needs to check it offline — the signed checkpoint, the log inclusion proof
 * of the use record, and for a manifest item its inclusion proof in the manifest tree.
 */
import type { Log } from '../log/index.js';
import type { Judgement } from '../policy/index.js';
import { type ModelId, type TrainingUseRecord, type UseItem, fromHex, parseModelId, toBase64 } from '../records/index.js';
import type { RunPolicy } from './policy-facts.js';
import type { ManifestStore } from './manifests.js';
import { Lru } from '../log/index.js';
import type { ProofBundle, UseReport, Verdict } from './types.js';

const utf8 = new TextDecoder();

export interface UseRef {
  useIndex: number;
  position: number;
}

/**
 * Models derived from a use's model that get a report of their own per item: anyone can declare
 * a model derived from another, and each declaration would otherwise add a report to every item.
 */
export const MAX_DERIVED_REPORTS = 32;

/** What the reports of one answer share: the models derived from each model, and whether any list was cut. */
export interface ReportContext {
  derived: Map<string, Array<{ model: string; path: number[] }>>;
  lineageTruncated: boolean;
}

export const newReportContext = (): ReportContext => ({ derived: new Map(), lineageTruncated: false });

export function toVerdict(j: Judgement): Verdict {
  return {
    verdict: j.verdict,
    reason: j.reason,
    ...(j.consentIndex !== undefined ? { consentIndex: j.consentIndex } : {}),
    ...(j.distance !== undefined ? { distance: j.distance } : {}),
    ...(j.compromisedKey ? { compromisedKey: j.compromisedKey } : {}),
    ...(j.loggedAt !== undefined ? { loggedAt: j.loggedAt } : {}),
    ...(j.grantedBy ? { grantedBy: { ...j.grantedBy } } : {}),
  };
}

function modelOf(id: string): { builder: string; name: string; version: string } {
  const m = parseModelId(id);
  return { builder: m.builder, name: m.name, version: m.version };
}

/** Training-use entries are few and asked for again and again: keep them, base64-encoded. */
const ENTRY_CACHE_SIZE = 4096;
/** Inclusion proofs at the current checkpoint, base64-encoded: the same uses come up in many queries. */
const PROOF_CACHE_SIZE = 16_384;

export class ReportBuilder {
  private readonly entries = new Lru<number, string>(ENTRY_CACHE_SIZE);
  private readonly proofs = new Lru<string, string[]>(PROOF_CACHE_SIZE);

  constructor(
    private readonly log: Log,
    private readonly policy: RunPolicy,
    private readonly manifests: ManifestStore,
    private readonly now: () => number,
  ) {}

  /**
   * Reports for one use item: the use's own model first, then the models derived from it
   * (`via` set; the nearest MAX_DERIVED_REPORTS), each judged now. Empty if the index names an
   * item that cannot be read.
   */
  async reports(ref: UseRef, work: string, context: ReportContext = newReportContext()): Promise<UseReport[]> {
    const use = await this.policy((p) => p.use(ref.useIndex));
    if (!use) return [];
    const located = await this.locate(ref, use.record);
    if (!located) return [];
    const bundleBase = await this.bundleBase(ref, located.manifest, work);
    const now = new Date(this.now());
    const models = [{ model: use.model, via: null as UseReport['via'] }];
    for (const derived of await this.derivedModels(use.model, context)) {
      models.push({ model: derived.model, via: { lineageIndex: derived.path[derived.path.length - 1], model: modelOf(use.model) } });
    }
    const judgements = await this.policy((p) => models.map(({ model }) => p.judgeItem(ref.useIndex, located.item, { now, model: model === use.model ? undefined : model })));
    return models.map(({ model, via }, i) => {
      const judgement = judgements[i];
      const verdict = toVerdict(judgement);
      return {
        useIndex: ref.useIndex,
        position: ref.position,
        model: modelOf(model),
        via: via && { lineageIndex: via.lineageIndex, model: via.model },
        item: located.item as unknown as Record<string, unknown>,
        verdict,
        bundle: { ...bundleBase, verdict },
      };
    });
  }

  private async derivedModels(model: string, context: ReportContext) {
    let derived = context.derived.get(model);
    if (!derived) {
      derived = await this.policy((p) => p.modelsDerivedFrom(model as ModelId, { limit: MAX_DERIVED_REPORTS + 1 }));
      context.derived.set(model, derived);
    }
    if (derived.length <= MAX_DERIVED_REPORTS) return derived;
    context.lineageTruncated = true;
    return derived.slice(0, MAX_DERIVED_REPORTS);
  }

  private async locate(ref: UseRef, record: TrainingUseRecord) {
    if (record.items) {
      const item = record.items[ref.position];
      return item ? { item, manifest: null } : undefined;
    }
    const proof = await this.manifests.proof(fromHex(record.manifest!.root)!, ref.position);
    if (!proof) return undefined;
    const { decoded, ...manifest } = proof;
    return { item: decoded as unknown as UseItem, manifest };
  }

  private async bundleBase(ref: UseRef, manifest: ProofBundle['manifest'], work: string): Promise<Omit<ProofBundle, 'verdict'>> {
    const { checkpoint, note } = this.log.checkpoint;
    const [entry, proof] = await Promise.all([this.entryBase64(ref.useIndex), this.inclusionProof(ref.useIndex, checkpoint.size)]);
    return {
      type: 'pvl.proof-bundle/v1',
      origin: checkpoint.origin,
      checkpoint: utf8.decode(note),
      log: { index: ref.useIndex, entry, inclusionProof: proof },
      manifest,
      work,
    };
  }

  private async inclusionProof(index: number, size: number): Promise<string[]> {
    const key = `${index}/${size}`;
    let proof = this.proofs.get(key);
    if (!proof) {
      proof = (await this.log.inclusionProof(index, size)).map(toBase64);
      this.proofs.set(key, proof);
    }
    return proof;
  }

  private async entryBase64(index: number): Promise<string> {
    let entry = this.entries.get(index);
    if (entry === undefined) {
      const [bytes] = await this.log.readEntries(index, 1);
      entry = toBase64(bytes);
      this.entries.set(index, entry);
    }
    return entry;
  }
}

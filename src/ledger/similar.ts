/**
 * The ledger's similarity index of training-use items (spec/works.md §5, spec/api.md
 * GET /works/similar): every perceptual identifier of every item, inline or in a manifest, with
 * the item's (useIndex, position) and sha256. Grants' identifiers are indexed by the consent
 * policy (rule 1a); this index adds the uses. It lives in memory and is derived from the log:
 * the policy feed adds each training use as it is applied, so reopening the ledger rebuilds it.
 */
import { NearIndex, nearCode } from '../policy/near-index.js';
import type { UseItem } from '../records/index.js';
import { DEFAULT_MAX_DISTANCE } from '../works/thresholds.js';
import { LedgerInputError } from './errors.js';

/** The largest `max` GET /works/similar accepts (query cost grows steeply with the radius). */
export const MAX_SIMILAR_DISTANCE = 20;

export interface NearUse {
  useIndex: number;
  position: number;
  /** The item's sha256 identifier. */
  work: string;
  /** The item's perceptual identifier that matched. */
  id: string;
  distance: number;
}

export interface SimilarWork {
  /** sha256 identifier of the matched work. */
  work: string;
  /** Its perceptual identifier within `max` of the query. */
  id: string;
  distance: number;
  /** Consent grants naming `work`. */
  consents: number;
  /** Training-use items naming `work`. */
  uses: number;
}

const SHA256_BYTES = 32;

/** Items by slot: parallel arrays, the sha256 digest packed in one growing byte array. */
export class UseSimilarity {
  private readonly index = new NearIndex();
  private readonly useIndexes: number[] = [];
  private readonly positions: number[] = [];
  private digests = new Uint8Array(SHA256_BYTES * 1024);

  get size(): number {
    return this.useIndexes.length;
  }

  /**
   * Indexes the perceptual identifiers of one item (items without any cost nothing); with `only`,
   * just those among them (the ones no earlier item of the use named).
   */
  addItem(useIndex: number, position: number, item: UseItem, only?: readonly string[]): void {
    const sha = item.work.find((id) => id.startsWith('sha256:'));
    const perceptual = item.work.filter((id) => nearCode(id) && (!only || only.includes(id)));
    if (!sha || perceptual.length === 0) return;
    const slot = this.useIndexes.length;
    this.useIndexes.push(useIndex);
    this.positions.push(position);
    this.storeDigest(slot, sha);
    for (const id of perceptual) this.index.add(id, slot);
  }

  /** Items with a perceptual identifier within `max` (default: the scheme's threshold) of `id`, nearest first. */
  near(id: string, max?: number): NearUse[] {
    return this.index.query(id, max).map((m) => ({
      useIndex: this.useIndexes[m.payload],
      position: this.positions[m.payload],
      work: this.digestAt(m.payload),
      id: m.id,
      distance: m.distance,
    }));
  }

  private storeDigest(slot: number, sha: string): void {
    if ((slot + 1) * SHA256_BYTES > this.digests.length) {
      const bigger = new Uint8Array(this.digests.length * 2);
      bigger.set(this.digests);
      this.digests = bigger;
    }
    const hex = sha.slice('sha256:'.length);
    for (let i = 0; i < SHA256_BYTES; i++) this.digests[slot * SHA256_BYTES + i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  }

  private digestAt(slot: number): string {
    let hex = '';
    for (let i = 0; i < SHA256_BYTES; i++) hex += this.digests[slot * SHA256_BYTES + i].toString(16).padStart(2, '0');
    return `sha256:${hex}`;
  }
}

/**
 * Checks the query of GET /works/similar: a `phash:`/`tcode:` identifier and a max distance
 * (default: the scheme's match threshold, at most MAX_SIMILAR_DISTANCE).
 */
export function similarQuery(id: string, max: number | undefined): { id: string; max: number } {
  const parsed = nearCode(id);
  if (!parsed) throw new LedgerInputError('bad-work-id', 'must be a phash: or tcode: identifier (16 lowercase hex digits); other schemes have no similarity index', 'id');
  const limit = max ?? DEFAULT_MAX_DISTANCE[parsed.scheme];
  if (!Number.isInteger(limit) || limit < 0 || limit > MAX_SIMILAR_DISTANCE) {
    throw new LedgerInputError('bad-parameter', `must be an integer 0..${MAX_SIMILAR_DISTANCE}, got ${String(max)}`, 'max');
  }
  return { id, max: limit };
}

/** Merges grant and use matches into one row per (work, id), nearest first, then by work and id. */
export function mergeSimilar(
  matches: Array<{ work: string; id: string; distance: number }>,
  counts: (work: string) => Promise<{ consents: number; uses: number }>,
): Promise<SimilarWork[]> {
  const rows = new Map<string, { work: string; id: string; distance: number }>();
  for (const m of matches) {
    const key = `${m.work} ${m.id}`;
    if (!rows.has(key)) rows.set(key, { work: m.work, id: m.id, distance: m.distance });
  }
  const sorted = [...rows.values()].sort((a, b) => a.distance - b.distance || cmp(a.work, b.work) || cmp(a.id, b.id));
  return Promise.all(sorted.map(async (r) => ({ ...r, ...(await counts(r.work)) })));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Which work identifiers the items of one training use have named so far, so that the query
 * index lists each (work, use) once (spec/storage.md): a manifest naming one work 20,000 times
 * costs one index key, one use report and one notification, not 20,000.
 *
 * Exact for the first EXACT_IDS identifiers of a use. Beyond that a Bloom filter answers
 * "certainly new" for nearly every new identifier and `confirm` (a look in the store) settles
 * the rest, so a manifest of millions of distinct works costs two bytes an identifier, not a
 * set of strings.
 */
import { PrefixBloomFilter } from '../store/bloom.js';

const EXACT_IDS = 65_536;
/** 2^23 keys at 16 bits each: 16 MiB, for the largest manifests; more keys only raise false positives. */
const MAX_BLOOM_KEYS = 1 << 23;
/** Identifiers `confirm` found named before: an identifier repeated far apart is looked up once. */
const CONFIRMED_CACHE = 4096;

export class NamedInUse {
  private readonly exact = new Set<string>();
  private bloom: PrefixBloomFilter | undefined;
  private confirmed = new Set<string>();
  private readonly prefix = new Uint8Array(8);

  /**
   * `expectedIds`: about how many identifiers the use names (sizes the filter); `confirm(id)`:
   * whether an earlier item of the use named `id`, for the identifiers the filter cannot rule out.
   */
  constructor(
    private readonly expectedIds: number,
    private readonly confirm: (id: string) => Promise<boolean>,
  ) {}

  /**
   * The identifiers of one item that no earlier item of the use named, in the item's order,
   * each once; they count as named from now on. Synchronous unless the store must be asked.
   */
  fresh(ids: readonly string[]): string[] | Promise<string[]> {
    const out: string[] = [];
    let unsure: string[] | undefined;
    for (const id of ids) {
      if (out.includes(id) || unsure?.includes(id)) continue;
      const seen = this.seen(id);
      if (seen === false) out.push(id);
      else if (seen === undefined) (unsure ??= []).push(id);
    }
    if (!unsure) {
      for (const id of out) this.add(id);
      return out;
    }
    return this.settle(ids, out, unsure);
  }

  private async settle(ids: readonly string[], sure: string[], unsure: string[]): Promise<string[]> {
    const named = await Promise.all(unsure.map((id) => this.confirm(id)));
    const fresh = new Set([...sure, ...unsure.filter((_, i) => !named[i])]);
    unsure.forEach((id, i) => named[i] && this.remember(id));
    const out = ids.filter((id, i) => fresh.has(id) && ids.indexOf(id) === i);
    for (const id of out) this.add(id);
    return out;
  }

  /** true: named before; false: certainly not; undefined: the filter cannot tell. */
  private seen(id: string): boolean | undefined {
    if (this.exact.has(id)) return true;
    if (!this.bloom) return false;
    if (!this.bloom.mayContain(idPrefix(id, this.prefix))) return false;
    return this.confirmed.has(id) ? true : undefined;
  }

  private add(id: string): void {
    if (!this.bloom && this.exact.size < EXACT_IDS) {
      this.exact.add(id);
      return;
    }
    this.bloom ??= new PrefixBloomFilter(Math.min(MAX_BLOOM_KEYS, Math.max(1024, this.expectedIds)));
    this.bloom.add(idPrefix(id, this.prefix));
  }

  private remember(id: string): void {
    if (this.confirmed.size >= CONFIRMED_CACHE) this.confirmed = new Set();
    this.confirmed.add(id);
  }
}

/** 64 bits of an identifier for the filter: two 32-bit FNV-1a variants, finished with murmur3's mix. */
function idPrefix(id: string, out: Uint8Array): Uint8Array {
  let h1 = 0x811c9dc5;
  let h2 = 0x9747b28c;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 13;
  }
  h1 = mix(h1);
  h2 = mix(h2 ^ h1);
  out[0] = h1 >>> 24;
  out[1] = h1 >>> 16;
  out[2] = h1 >>> 8;
  out[3] = h1;
  out[4] = h2 >>> 24;
  out[5] = h2 >>> 16;
  out[6] = h2 >>> 8;
  out[7] = h2;
  return out;
}

function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

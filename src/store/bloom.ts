/**
 * An in-memory Bloom filter over leaf-hash prefixes, so that appending fresh entries (the common
 * case) needs no dedup lookup in the store at all. Leaf hashes are uniformly random, so the
 * prefix's own bits serve as the two base hashes of Kirsch–Mitzenmacher double hashing.
 */
const BITS_PER_KEY = 16;
const PROBES = 8;

export class PrefixBloomFilter {
  private bits: Uint32Array;
  private readonly mask: number;
  private count = 0;

  /** `capacity` keys at ≈ 0.06 % false positives; more keys degrade it, so callers rebuild. */
  constructor(readonly capacity: number) {
    let size = 1024;
    while (size < capacity * BITS_PER_KEY) size *= 2;
    this.bits = new Uint32Array(size / 32);
    this.mask = size - 1;
  }

  get size(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count >= this.capacity;
  }

  /** Memory the bit array takes. */
  get bytes(): number {
    return this.bits.byteLength;
  }

  /** Adds a key by its first 8 bytes (a leaf hash or just its prefix). */
  add(prefix: Uint8Array): void {
    const [h1, h2] = baseHashes(prefix);
    for (let i = 0; i < PROBES; i++) {
      const bit = (h1 + Math.imul(i, h2)) & this.mask;
      this.bits[bit >>> 5] |= 1 << (bit & 31);
    }
    this.count++;
  }

  mayContain(prefix: Uint8Array): boolean {
    const [h1, h2] = baseHashes(prefix);
    for (let i = 0; i < PROBES; i++) {
      const bit = (h1 + Math.imul(i, h2)) & this.mask;
      if ((this.bits[bit >>> 5] & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}

function baseHashes(p: Uint8Array): [number, number] {
  const h1 = (p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
  const h2 = ((p[4] << 24) | (p[5] << 16) | (p[6] << 8) | p[7]) | 1;
  return [h1 >>> 0, h2 >>> 0];
}

/**
 * PrefixBloomFilters in layers, for a store that keeps growing: when the newest layer is full, a
 * new one of GROWTH × its capacity takes the new keys, and a lookup asks every layer. Growing
 * this way needs no rescan of the stored keys, which at a million entries stalled appends for
 * seconds; the false-positive rate stays the sum of the layers' (≈ 0.06 % each, a handful of
 * layers between opens, since an open starts again from one layer sized for the store).
 */
export class LayeredBloomFilter {
  static readonly GROWTH = 4;
  private readonly layers: PrefixBloomFilter[];

  constructor(first: PrefixBloomFilter) {
    this.layers = [first];
  }

  get size(): number {
    return this.layers.reduce((n, l) => n + l.size, 0);
  }

  get layerCount(): number {
    return this.layers.length;
  }

  get bytes(): number {
    return this.layers.reduce((n, l) => n + l.bytes, 0);
  }

  add(prefix: Uint8Array): void {
    let newest = this.layers[this.layers.length - 1];
    if (newest.full) this.layers.push((newest = new PrefixBloomFilter(LayeredBloomFilter.GROWTH * newest.capacity)));
    newest.add(prefix);
  }

  mayContain(prefix: Uint8Array): boolean {
    for (const layer of this.layers) if (layer.mayContain(prefix)) return true;
    return false;
  }
}

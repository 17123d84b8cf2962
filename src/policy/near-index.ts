/**
 * Perceptual identifiers (`phash:`, `tcode:`, 64 bits) searchable by Hamming distance, one space
 * per scheme. Browser-safe. Small sets are scanned linearly; a set that reaches SCAN_LIMIT entries
 * moves into a multi-index-hashing SimilarityIndex (src/works/similarity.ts), whose 1 MiB of
 * bucket offsets would be wasteful for the many small policies tests and browsers build.
 */
import { SimilarityIndex, popcount32 } from '../works/similarity.js';
import { DEFAULT_MAX_DISTANCE } from '../works/thresholds.js';

export type NearScheme = keyof typeof DEFAULT_MAX_DISTANCE;
const CODE_SHAPE = /^(phash|tcode):([0-9a-f]{16})$/;
export const SCAN_LIMIT = 1024;

/** The scheme and 64-bit code of a perceptual identifier, or undefined for any other identifier. */
export function nearCode(id: string): { scheme: NearScheme; code: bigint } | undefined {
  const m = CODE_SHAPE.exec(id);
  return m ? { scheme: m[1] as NearScheme, code: BigInt(`0x${m[2]}`) } : undefined;
}

export function formatNearId(scheme: NearScheme, code: bigint): string {
  return `${scheme}:${code.toString(16).padStart(16, '0')}`;
}

export interface NearMatch {
  /** The stored identifier (same scheme as the query). */
  id: string;
  payload: number;
  distance: number;
}

/** One scheme's codes: a list while small, a SimilarityIndex once large. */
class CodeSpace {
  // The list keeps 32-bit halves: popcount on numbers is far cheaper than BigInt arithmetic.
  private his: number[] = [];
  private los: number[] = [];
  private payloads: number[] = [];
  private index: SimilarityIndex | undefined;

  add(code: bigint, payload: number): void {
    if (this.index) return this.index.add(code, payload);
    this.his.push(Number(code >> 32n));
    this.los.push(Number(code & 0xffffffffn));
    this.payloads.push(payload);
    if (this.payloads.length >= SCAN_LIMIT) {
      const index = new SimilarityIndex(SCAN_LIMIT * 2);
      this.payloads.forEach((p, i) => index.addHalves(this.his[i], this.los[i], p));
      this.index = index;
      this.his = [];
      this.los = [];
      this.payloads = [];
    }
  }

  query(code: bigint, max: number): Array<{ code: bigint; payload: number; distance: number }> {
    if (this.index) return this.index.query(code, max);
    const hi = Number(code >> 32n);
    const lo = Number(code & 0xffffffffn);
    const out = [];
    for (let i = 0; i < this.payloads.length; i++) {
      const distance = popcount32((this.his[i] ^ hi) >>> 0) + popcount32((this.los[i] ^ lo) >>> 0);
      if (distance <= max) out.push({ code: (BigInt(this.his[i]) << 32n) | BigInt(this.los[i]), payload: this.payloads[i], distance });
    }
    return out.sort((a, b) => a.distance - b.distance || a.payload - b.payload);
  }
}

export class NearIndex {
  private readonly spaces = new Map<NearScheme, CodeSpace>();

  /** Adds a perceptual identifier with a uint32 payload; other identifiers are ignored (false). */
  add(id: string, payload: number): boolean {
    const parsed = nearCode(id);
    if (!parsed) return false;
    let space = this.spaces.get(parsed.scheme);
    if (!space) this.spaces.set(parsed.scheme, (space = new CodeSpace()));
    space.add(parsed.code, payload);
    return true;
  }

  /**
   * Entries of the identifier's scheme within `max` (default: the scheme's match threshold),
   * nearest first, then by payload. Non-perceptual identifiers match nothing.
   */
  query(id: string, max?: number): NearMatch[] {
    const parsed = nearCode(id);
    if (!parsed) return [];
    const space = this.spaces.get(parsed.scheme);
    if (!space) return [];
    return space.query(parsed.code, max ?? DEFAULT_MAX_DISTANCE[parsed.scheme]).map((m) => ({ id: formatNearId(parsed.scheme, m.code), payload: m.payload, distance: m.distance }));
  }
}

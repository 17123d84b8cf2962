/**
 * Text similarity code (ISCC text Content-Code style, 64 bits). Browser-safe.
 * collapse → character 13-grams → 64 seeded XXH32 minhashes → bit i = lowest bit of minhash i.
 */
import { formatWorkId, type WorkId } from '../records/works.js';
import { xxh32 } from './xxh32.js';

export const NGRAM = 13;
export const TEXT_BITS = 64;

/** iscc-core `text_collapse`: NFD, lowercase, drop whitespace and Unicode C*, M*, P* characters, NFKC. */
export function collapseText(text: string): string {
  return text
    .normalize('NFD')
    .toLowerCase()
    .replace(/[\s\p{C}\p{M}\p{P}]/gu, '')
    .normalize('NFKC');
}

/** Character (code point) n-grams; a text shorter than n yields itself as the only gram. */
export function ngrams(text: string, n = NGRAM): string[] {
  const cps = Array.from(text);
  if (cps.length <= n) return [cps.join('')];
  const out: string[] = [];
  for (let i = 0; i + n <= cps.length; i++) out.push(cps.slice(i, i + n).join(''));
  return out;
}

/** Minhash: for seed i in 0..63, min over grams of xxh32(utf8(gram), i); bit i (MSB first) = that min & 1. */
export function textCodeBytes(text: string): Uint8Array {
  const enc = new TextEncoder();
  const grams = [...new Set(ngrams(collapseText(text)))].map((g) => enc.encode(g));
  const out = new Uint8Array(TEXT_BITS / 8);
  for (let i = 0; i < TEXT_BITS; i++) {
    let min = 0xffffffff;
    for (const g of grams) {
      const h = xxh32(g, i);
      if (h < min) min = h;
    }
    if (min & 1) out[i >> 3] |= 0x80 >> (i & 7);
  }
  return out;
}

export function textWorkId(text: string): WorkId {
  return formatWorkId('tcode', textCodeBytes(text));
}

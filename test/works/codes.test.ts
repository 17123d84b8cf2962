import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { collapseText, imageCodeBytes, dct2d, textCodeBytes, xxh32, codeOfBytes, hammingDistance64, WorkError } from '../../src/works/index.js';

const enc = new TextEncoder();

describe('xxh32', () => {
  it('matches published vectors', () => {
    expect(xxh32(enc.encode(''), 0)).toBe(0x02cc5d05);
    expect(xxh32(enc.encode('a'), 0)).toBe(0x550d7456);
    expect(xxh32(enc.encode('abc'), 0)).toBe(0x32d153ff);
    expect(xxh32(enc.encode('Nobody inspects the spammish repetition'), 0)).toBe(0xe2293b2f);
  });
});

describe('image code', () => {
  it('DCT agrees with the textbook formula at random coefficients', () => {
    const px = Array.from({ length: 1024 }, (_, i) => (i * 37) % 256);
    const d = dct2d(px);
    for (const [u, v] of [[0, 0], [3, 5], [7, 1]]) {
      let s = 0;
      for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++)
        s += px[y * 32 + x] * Math.cos((Math.PI / 32) * (y + 0.5) * u) * Math.cos((Math.PI / 32) * (x + 0.5) * v);
      expect(d[u * 32 + v]).toBeCloseTo(s, 6);
    }
  });
  it('sets exactly half the bits for distinct coefficients and is invariant to brightness scale', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 120 }), { minLength: 1024, maxLength: 1024 }), (px) => {
      const a = imageCodeBytes(px);
      const b = imageCodeBytes(px.map((p) => p * 2));
      expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
      const ones = [...a].reduce((n, byte) => n + byte.toString(2).replaceAll('0', '').length, 0);
      expect(ones).toBeLessThanOrEqual(32);
    }), { numRuns: 30 });
  });
  it('rejects the wrong pixel count', () => {
    expect(() => imageCodeBytes([1, 2, 3])).toThrow(WorkError);
  });
});

describe('text code', () => {
  const base = 'The quick brown fox jumps over the lazy dog while the painter mixes ochre and umber on a wooden palette. ' +
    'Every evening she walks down to the harbour to sketch the fishing boats as the light turns gold and the gulls settle.';
  const other = 'Quarterly revenue rose by eleven percent, driven by subscriptions in the enterprise segment; operating costs ' +
    'remained flat and the board approved a dividend increase to be paid to shareholders at the end of next month.';
  const dist = (a: string, b: string): number => hammingDistance64(codeOfBytes(textCodeBytes(a)), codeOfBytes(textCodeBytes(b)));

  it('collapses like iscc-core text_collapse', () => {
    expect(collapseText('Hello,  World! Café')).toBe('helloworldcafe');
  });
  it('ignores case, whitespace and punctuation', () => {
    expect(dist(base, base.toUpperCase().replaceAll(' ', '\n  '))).toBe(0);
  });
  it('small edits stay close, different texts are far', () => {
    const edited = base.replace('ochre', 'ocher').replace('gulls', 'birds');
    expect(dist(base, edited)).toBeLessThanOrEqual(16);
    expect(dist(base, other)).toBeGreaterThanOrEqual(20);
  });
});

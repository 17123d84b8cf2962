import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_MAX_DISTANCE, codeOfBytes, hammingDistance64 } from '../../src/works/index.js';
import { workIdsOfBytes, workIdsOfFile } from '../../src/works/node.js';
import { parseWorkId, workIdOfBytes } from '../../src/records/works.js';
import { tempDir } from '../support/tmp.js';
import { DISTINCT_KINDS, TRANSFORMS, baseImage, distinctImage } from './corpus.js';

const IMAGES = 40;
/** Extra distinct images for the false-match count: with the 40 originals, 300 images = 44,850 pairs. */
const DISTINCT = 260;
const threshold = DEFAULT_MAX_DISTANCE.phash;

async function phashOf(bytes: Buffer): Promise<bigint> {
  const ids = await workIdsOfBytes(bytes);
  const p = ids.find((id) => id.startsWith('phash:'));
  if (!p) throw new Error('no phash');
  return codeOfBytes(parseWorkId(p).digest);
}

describe('image Content-Code on a generated corpus', () => {
  it('matches transformed copies and separates distinct images at the default threshold', async () => {
    const originals: bigint[] = [];
    const matched: Record<string, number> = {};
    for (let s = 0; s < IMAGES; s++) {
      const img = await baseImage(s);
      const code = await phashOf(img);
      originals.push(code);
      for (const [name, transform] of Object.entries(TRANSFORMS)) {
        const d = hammingDistance64(code, await phashOf(await transform(img)));
        matched[name] = (matched[name] ?? 0) + (d <= threshold ? 1 : 0);
      }
    }
    let falseMatches = 0;
    let pairs = 0;
    for (let i = 0; i < IMAGES; i++)
      for (let j = i + 1; j < IMAGES; j++, pairs++) if (hammingDistance64(originals[i], originals[j]) <= threshold) falseMatches++;

    const share = (name: string): number => matched[name] / IMAGES;
    console.log(`threshold ${threshold}:`, Object.keys(TRANSFORMS).map((n) => `${n} ${(100 * share(n)).toFixed(1)}%`).join(', '),
      `| false matches ${falseMatches}/${pairs}`);
    for (const n of ['jpeg-q90', 'jpeg-q70', 'jpeg-q50', 'webp', 'resize-50']) expect(share(n), n).toBeGreaterThanOrEqual(0.99);
    expect(share('crop-5')).toBeGreaterThanOrEqual(0.9);
    for (const n of ['crop-10', 'rotate-2', 'watermark']) expect(share(n), n).toBeGreaterThanOrEqual(0.8);
    expect(falseMatches / pairs).toBeLessThanOrEqual(0.001);
  }, 60_000);
});

describe('false matches between distinct images', () => {
  it('stay at or below 0.1% of pairs at the default threshold', async () => {
    const images: Array<{ kind: string; code: bigint }> = [];
    for (let s = 0; s < IMAGES; s++) images.push({ kind: 'photo-like', code: await phashOf(await baseImage(s)) });
    for (let s = 0; s < DISTINCT; s++) images.push({ kind: DISTINCT_KINDS[s % DISTINCT_KINDS.length], code: await phashOf(await distinctImage(s)) });
    let pairs = 0;
    let smallest = 64;
    const matches: Record<string, number> = {};
    for (let i = 0; i < images.length; i++)
      for (let j = i + 1; j < images.length; j++, pairs++) {
        const d = hammingDistance64(images[i].code, images[j].code);
        smallest = Math.min(smallest, d);
        if (d > threshold) continue;
        const kinds = [images[i].kind, images[j].kind].sort().join('/');
        matches[kinds] = (matches[kinds] ?? 0) + 1;
      }
    const falseMatches = Object.values(matches).reduce((a, b) => a + b, 0);
    console.log(`threshold ${threshold}: ${images.length} distinct images, false matches ${falseMatches}/${pairs} = ${(100 * falseMatches / pairs).toFixed(3)}%`,
      `(smallest distance ${smallest}; by kinds ${JSON.stringify(matches)})`);
    expect(pairs).toBeGreaterThanOrEqual(5000);
    expect(falseMatches / pairs).toBeLessThanOrEqual(0.001);
  }, 60_000);
});

describe('workIdsOfFile', () => {
  it('gives sha256 + a near phash for every supported image format', async () => {
    const img = await baseImage(4);
    const codes = [await phashOf(img)];
    const formats = [sharp(img).tiff(), sharp(img).webp({ lossless: true }), sharp(img).jpeg(), sharp(img).gif()];
    for (const bytes of await Promise.all(formats.map((f) => f.toBuffer()))) {
      const ids = await workIdsOfBytes(bytes);
      expect(ids[0]).toBe(workIdOfBytes(bytes));
      expect(hammingDistance64(await phashOf(bytes), codes[0])).toBeLessThanOrEqual(threshold);
    }
  });
  it('gives sha256 + tcode for text, stripping HTML to the same code as its text', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const text = 'A watercolour of the old harbour at dusk, painted from the sea wall in the autumn of that year.';
      await writeFile(join(dir, 'a.txt'), text);
      await writeFile(join(dir, 'a.html'), `<html><head><style>p{color:red}</style></head><body><p>${text.replace('harbour', '<b>harbour</b>')}</p></body></html>`);
      const [txt, html] = await Promise.all([workIdsOfFile(join(dir, 'a.txt')), workIdsOfFile(join(dir, 'a.html'))]);
      expect(txt[0]).toBe(workIdOfBytes(new TextEncoder().encode(text)));
      expect(txt[1]).toMatch(/^tcode:[0-9a-f]{16}$/);
      expect(html[1]).toBe(txt[1]);
      await writeFile(join(dir, 'bin'), new Uint8Array([0xff, 0xfe, 0x00, 0x80]));
      expect(await workIdsOfFile(join(dir, 'bin'))).toHaveLength(1);
    } finally {
      await cleanup();
    }
  });
});

/**
 * `pvl use declare`'s two passes over an items file: the encoded reader (a byte-level fast path
 * for plain CSV lines, the general parser for the rest) must read exactly what readItems reads,
 * item for item and error for error; pass 1's root (hashed in worker threads) must be the root of
 * the bytes pass 2 streams.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestStream, summarise } from '../../src/cli/commands/use.js';
import { readEncodedItems, readItems } from '../../src/cli/items-file.js';
import { type UseItem, MANIFEST_HEADER_SIZE, MANIFEST_ITEM_SIZE, encodeManifestHeader, toHex, writeManifest } from '../../src/records/index.js';
import { MANIFEST_BATCH_ITEMS, encodeManifestItemInto } from '../../src/records/manifest.js';
import { tempDir } from '../support/tmp.js';

const id = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}` as const;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

let dir: string;
let cleanup: () => Promise<void>;
let files = 0;
beforeAll(async () => void ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

async function file(name: string, text: string | Uint8Array): Promise<string> {
  const path = join(dir, `${files++}-${name}`);
  await writeFile(path, text);
  return path;
}

/** What pass 1 and 2 read, or the error they stop at. */
async function encoded(path: string): Promise<{ bytes: string; batches: number[] } | { error: string }> {
  try {
    const batches: Uint8Array[] = [];
    for await (const b of readEncodedItems(path)) batches.push(b);
    return { bytes: hex(Buffer.concat(batches)), batches: batches.map((b) => b.length / MANIFEST_ITEM_SIZE) };
  } catch (e) {
    return { error: String((e as Error).message) };
  }
}

/** readItems and the manifest encoder, item by item (so the first bad line in the file is the error): the reference. */
async function reference(path: string): Promise<{ bytes: string } | { error: string }> {
  try {
    const out: Uint8Array[] = [];
    for await (const item of readItems(path)) {
      const bytes = new Uint8Array(MANIFEST_ITEM_SIZE);
      encodeManifestItemInto(item, bytes, 0, `items[${out.length}]`);
      out.push(bytes);
    }
    return { bytes: hex(Buffer.concat(out)) };
  } catch (e) {
    return { error: String((e as Error).message) };
  }
}

/** Lines of every kind: fast-path ones and all that must fall back to the general parser. */
const digestArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(hex);
const csvLineArb = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(digestArb, fc.constantFrom('', ',', ',none', ',0', ',7', ',007', ',123456789012345', ',9007199254740991')).map(([d, c]) => `sha256:${d}${c}`) },
  fc.constantFrom('', '   ', 'work,consent', `"${id('q')}",3`, ` ${id('s')} , 5 `, `${id('a')};phash:0011223344556677,none`, `${id('b')} tcode:8899aabbccddeeff,12`),
  digestArb.map((d) => `sha256:${d},${'0'.repeat(64)}`), // a leaf-hash consent: refused by the encoder
);
const badCsvLineArb = fc.constantFrom(`SHA256:${'a'.repeat(64)},1`, `sha256:${'A'.repeat(64)}`, `sha256:${'a'.repeat(63)}`, `${id('x')},1,2`, `${id('x')},-1`, `${id('x')},99999999999999999999`, `${id('x')},${'1'.repeat(16)}`);
const eolArb = fc.constantFrom('\n', '\r\n', '\r');

describe('encoded items (pass 1 and 2)', () => {
  it('CSV: the same bytes as readItems + the encoder, or the same error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.oneof({ weight: 9, arbitrary: csvLineArb }, badCsvLineArb), eolArb), { maxLength: 30 }), fc.boolean(), async (lines, finalEol) => {
        const text = lines.map(([l, eol], i) => (i < lines.length - 1 || finalEol ? l + eol : l)).join('');
        const path = await file('items.csv', text);
        const got = await encoded(path);
        const want = await reference(path);
        if ('error' in want) expect(got).toEqual(want);
        else expect('bytes' in got && got.bytes).toBe(want.bytes);
      }),
      { numRuns: 150 },
    );
  });

  it('JSON Lines go through the general parser alike', async () => {
    const lines = [{ work: id('a'), consent: 3 }, { work: [id('b'), 'phash:0011223344556677'], consent: '4' }, { work: id('d'), consent: 'none' }, { work: id('e') }];
    const path = await file('items.jsonl', lines.map((l) => JSON.stringify(l)).join('\r\n') + '\n\n');
    expect(await encoded(path)).toMatchObject(await reference(path));
    const bad = await file('bad.jsonl', `${JSON.stringify(lines[0])}\n{"work":"md5:00"}\n`);
    expect(await encoded(bad)).toEqual({ error: expect.stringMatching(/bad\.jsonl:2/) });
  });

  it('names the line of a bad item, also after lone CRs', async () => {
    const path = await file('lines.csv', `work,consent\n${id('a')},1\r${id('b')}\r\nnot-an-id,2\n`);
    expect(await encoded(path)).toEqual({ error: expect.stringMatching(/lines\.csv:4: work must be/) });
    expect(await encoded(path)).toEqual(await reference(path));
  });

  it('yields whole batches across read chunks, the last one short', async () => {
    const n = 2 * MANIFEST_BATCH_ITEMS + 5; // ≈ 2.6 MB: several 1 MiB reads, lines cut between them
    const text = Array.from({ length: n }, (_, i) => `${id(String(i))},${i % 3 === 0 ? 'none' : i}`).join('\n');
    const path = await file('big.csv', text);
    const got = await encoded(path);
    expect(got).toMatchObject({ batches: [MANIFEST_BATCH_ITEMS, MANIFEST_BATCH_ITEMS, 5] });
    expect(got).toMatchObject(await reference(path));
    // One line split by lone CRs into items that straddle a batch end.
    const straddle = Array.from({ length: MANIFEST_BATCH_ITEMS - 1 }, (_, i) => id(String(i))).join('\n') + `\n${id('x')}\r${id('y')}\r${id('z')},4\n`;
    const path2 = await file('straddle.csv', straddle);
    expect(await encoded(path2)).toMatchObject({ batches: [MANIFEST_BATCH_ITEMS, 2] });
    expect(await encoded(path2)).toMatchObject(await reference(path2));
  });
});

describe('summarise and manifestStream', () => {
  async function streamed(path: string, count: number): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    const reader = manifestStream(path, count, () => {}).getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value.slice());
    expect(Math.max(...parts.map((p) => p.length))).toBeLessThanOrEqual(64 * 1024); // 64 KiB chunks (spec/cli.md)
    return new Uint8Array(Buffer.concat(parts));
  }

  it('pass 1 (worker threads) gives the root of the bytes pass 2 streams, as writeManifest builds them', async () => {
    for (const n of [1, 2, 255, 256, 257, MANIFEST_BATCH_ITEMS + 3]) {
      const items: UseItem[] = Array.from({ length: n }, (_, i) => ({ work: [id(`w${n}-${i}`)] as UseItem['work'], consent: i % 5 === 0 ? { none: true } : { index: i } }));
      const path = await file('items.csv', items.map((it) => `${it.work[0]},${'index' in it.consent ? it.consent.index : 'none'}`).join('\n') + '\n');
      const parts: Uint8Array[] = [];
      const want = await writeManifest(items, n, (c) => void parts.push(c.slice()));
      expect(await summarise(path)).toEqual({ count: n, root: toHex(want.root) });
      const bytes = await streamed(path, n);
      expect(hex(bytes.subarray(0, MANIFEST_HEADER_SIZE))).toBe(hex(encodeManifestHeader(n)));
      expect(hex(bytes)).toBe(hex(Buffer.concat(parts)));
    }
  });

  it('refuses an empty file and a file whose count changed between the passes', async () => {
    await expect(summarise(await file('empty.csv', 'work,consent\n\n'))).rejects.toThrow(/has no items/);
    const path = await file('three.csv', `${id('a')}\n${id('b')}\n${id('c')}\n`);
    await expect(streamed(path, 2)).rejects.toMatchObject({ code: 'count-mismatch' });
    await expect(streamed(path, 4)).rejects.toMatchObject({ code: 'count-mismatch' });
  });
});

/**
 * `pvl work id FILE…` in process: the sha256 identifier is recomputed with node:crypto; the
 * perceptual identifiers must be the shapes spec/works.md §1 gives per kind of file, and a JPEG
 * re-encode's phash must stay within the match threshold of the PNG's (counted bit by bit here).
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import sharp from 'sharp';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registerWork } from '../../src/cli/commands/work.js';
import { tempDir } from '../support/tmp.js';
import { baseImage } from './corpus.js';

const sha = (bytes: Uint8Array | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const bitsApart = (a: string, b: string) => [...(BigInt(`0x${a}`) ^ BigInt(`0x${b}`)).toString(2)].filter((c) => c === '1').length;

async function pvlWork(args: string[]): Promise<string> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  try {
    const program = new Command('pvl').exitOverride();
    registerWork(program);
    await program.parseAsync(['node', 'pvl', 'work', 'id', ...args]);
  } finally {
    spy.mockRestore();
  }
  return lines.join('\n');
}

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

describe('pvl work id', () => {
  it('prints sha256 and perceptual identifiers, as text and as JSON', async () => {
    const made = await tempDir('pvl-work-');
    cleanup = made.cleanup;
    const png = await baseImage(5);
    const jpeg = await sharp(png).jpeg({ quality: 80 }).toBuffer();
    const text = 'A short poem about consent.\nIt has two lines.';
    const files = { png: join(made.dir, 'a.png'), jpeg: join(made.dir, 'a.jpg'), text: join(made.dir, 'poem.md'), bin: join(made.dir, 'blob') };
    const bin = Uint8Array.of(0xff, 0xfe, 0x00, 0x80);
    await Promise.all([writeFile(files.png, png), writeFile(files.jpeg, jpeg), writeFile(files.text, text), writeFile(files.bin, bin)]);

    const rows = JSON.parse(await pvlWork([files.png, files.jpeg, files.text, files.bin, '--json'])) as Array<{ file: string; ids: string[] }>;
    expect(rows.map((r) => r.file)).toEqual([files.png, files.jpeg, files.text, files.bin]);
    expect(rows.map((r) => r.ids[0])).toEqual([sha(png), sha(jpeg), sha(text), sha(bin)]);
    expect(rows.map((r) => r.ids.slice(1).map((id) => id.replace(/[0-9a-f]{16}$/, '<16 hex>')))).toEqual([['phash:<16 hex>'], ['phash:<16 hex>'], ['tcode:<16 hex>'], []]);
    expect(bitsApart(rows[0].ids[1].slice(6), rows[1].ids[1].slice(6))).toBeLessThanOrEqual(12);

    const plain = await pvlWork([files.png, files.text]);
    expect(plain.split('\n')).toEqual([`${rows[0].ids.join(' ')}  ${files.png}`, `${rows[2].ids.join(' ')}  ${files.text}`]);
  });
});

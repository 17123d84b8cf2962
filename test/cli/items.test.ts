import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { readItems } from '../../src/cli/items-file.js';
import { eventIdAfter } from '../../src/cli/watch-state.js';
import { tempDir } from '../support/tmp.js';

const id = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;
const leaf = 'ab'.repeat(32);

async function itemsOf(name: string, text: string) {
  const { dir, cleanup } = await tempDir();
  try {
    await writeFile(join(dir, name), text);
    const out = [];
    for await (const item of readItems(join(dir, name))) out.push(item);
    return out;
  } finally {
    await cleanup();
  }
}

describe('items files', () => {
  it('reads every consent spelling of JSON Lines', async () => {
    const lines = [
      { work: id('a'), consent: 3 },
      { work: [id('b')], consent: '4' },
      { work: id('c'), consent: leaf },
      { work: id('d'), consent: 'none' },
      { work: id('e') },
      { work: id('f'), consent: { leafHash: leaf } },
    ];
    expect(await itemsOf('i.jsonl', lines.map((l) => JSON.stringify(l)).join('\n') + '\n\n')).toEqual([
      { work: [id('a')], consent: { index: 3 } },
      { work: [id('b')], consent: { index: 4 } },
      { work: [id('c')], consent: { leafHash: leaf } },
      { work: [id('d')], consent: { none: true } },
      { work: [id('e')], consent: { none: true } },
      { work: [id('f')], consent: { leafHash: leaf } },
    ]);
  });

  it('reads CSV with a header and empty consent', async () => {
    expect(await itemsOf('i.csv', `work,consent\r\n${id('a')},7\r\n${id('b')},\r\n`)).toEqual([
      { work: [id('a')], consent: { index: 7 } },
      { work: [id('b')], consent: { none: true } },
    ]);
  });

  it('names the line of a bad item', async () => {
    await expect(itemsOf('i.jsonl', `${JSON.stringify({ work: id('a') })}\n{"work":"md5:00"}\n`)).rejects.toThrow(/i\.jsonl:2/);
  });
});

describe('watch event ids', () => {
  it('orders <useIndex>.<position> numerically, not as strings', () => {
    fc.assert(
      fc.property(fc.nat(1e9), fc.nat(1e7), fc.nat(1e9), fc.nat(1e7), (a, b, c, d) => {
        expect(eventIdAfter(`${a}.${b}`, `${c}.${d}`)).toBe(a > c || (a === c && b > d));
      }),
    );
    expect(eventIdAfter('10.0', '9.5')).toBe(true);
    expect(eventIdAfter('0.0', null)).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { allocatorInMaps } from '../../src/platform/allocator.js';

// Lines as /proc/<pid>/maps prints them (Debian 12, x86_64).
const node = '55d4c8a00000-55d4c9a00000 r-xp 00000000 fe:01 1311 /usr/bin/node';
const glibc = '7f3a1c200000-7f3a1c228000 r--p 00000000 fe:01 2231 /usr/lib/x86_64-linux-gnu/libc.so.6';
const jemalloc = '7f3a1c600000-7f3a1c640000 r-xp 00000000 fe:01 9004 /usr/lib/x86_64-linux-gnu/libjemalloc.so.2';
const musl = '7f3a1c700000-7f3a1c780000 r-xp 00000000 fe:01 77 /lib/ld-musl-x86_64.so.1';

describe('allocatorInMaps', () => {
  it('names jemalloc when it is mapped, even beside glibc', () => {
    expect(allocatorInMaps([node, jemalloc, glibc].join('\n'))).toBe('jemalloc');
  });
  it('names glibc malloc when only glibc is mapped', () => {
    expect(allocatorInMaps([node, glibc].join('\n'))).toBe('glibc');
  });
  it('names neither for another C library or unreadable maps', () => {
    expect(allocatorInMaps([node, musl].join('\n'))).toBe('other');
    expect(allocatorInMaps('')).toBe('other');
  });
  it('reads this process (Debian, as in CI): glibc malloc, or jemalloc when preloaded', async () => {
    const { readFile } = await import('node:fs/promises');
    expect(['glibc', 'jemalloc']).toContain(allocatorInMaps(await readFile('/proc/self/maps', 'utf8')));
  });
});

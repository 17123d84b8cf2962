/**
 * Deduplication and entry storage against a plain in-memory model: concurrent appends with many
 * repeats (inside a batch, across batches, across a batch still being written, across a reopen),
 * leaf-hash prefix collisions in the store, entry reads across chunk boundaries, and the Bloom
 * filter that spares fresh entries a lookup.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { Log } from '../../src/log/index.js';
import { generatePrivateKey } from '../../src/note/index.js';
import { nodeSigner } from '../../src/platform/node-signer.js';
import { nodeHasher } from '../../src/platform/node-hasher.js';
import { LevelLogStore } from '../../src/store/index.js';
import { LayeredBloomFilter, PrefixBloomFilter } from '../../src/store/bloom.js';
import { tempDir } from '../support/tmp.js';

const ORIGIN = 'test.example/dedup';
const key = generatePrivateKey(ORIGIN);
const enc = new TextEncoder();

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function freshDir(): Promise<string> {
  const { dir, cleanup } = await tempDir();
  cleanups.push(cleanup);
  return dir;
}

async function openLog(dir: string, maxAppendBatch?: number): Promise<Log> {
  const store = await LevelLogStore.open(dir);
  return Log.open(store, { origin: ORIGIN, signer: nodeSigner(key), hasher: nodeHasher, maxAppendBatch });
}

/** The model: the first occurrence of a value gets the next index; repeats get that index. */
class DedupModel {
  readonly indexOf = new Map<string, number>();
  readonly order: string[] = [];
  append(values: string[]): Array<[number, boolean]> {
    return values.map((v) => {
      const known = this.indexOf.get(v);
      if (known !== undefined) return [known, true];
      this.indexOf.set(v, this.order.length);
      this.order.push(v);
      return [this.order.length - 1, false];
    });
  }
}

const sha = (s: string) => createHash('sha256').update(s).digest();

describe('deduplication', () => {
  it('matches the model for concurrent appends full of repeats, also after a reopen (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 0, max: 90 }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 50 }),
        async (calls, afterReopen, maxBatch) => {
          const dir = await freshDir();
          const model = new DedupModel();
          let log = await openLog(dir, maxBatch);
          const toValues = (xs: number[]) => xs.map((x) => `value ${x}`);
          // All calls in flight at once: the group commit splits and pipelines them.
          const results = await Promise.all(calls.map((c) => log.append(toValues(c).map((v) => enc.encode(v)))));
          calls.forEach((c, i) => expect(results[i].map((r) => [r.index, r.duplicate])).toEqual(model.append(toValues(c))));
          if (calls.length % 2 === 0) await log.integrate(); // sometimes reopen with unintegrated entries
          await log.close();

          log = await openLog(dir, maxBatch);
          const again = await log.append(toValues(afterReopen).map((v) => enc.encode(v)));
          expect(again.map((r) => [r.index, r.duplicate])).toEqual(model.append(toValues(afterReopen)));
          await log.integrate();
          const stored = await log.readEntries(0, model.order.length);
          expect(stored.map((e) => new TextDecoder().decode(e))).toEqual(model.order);
          await log.close();
        },
      ),
      { numRuns: 25 },
    );
  });

  it('completes appends that arrive while an earlier batch is being written', async () => {
    const log = await openLog(await freshDir());
    const model = new DedupModel();
    const calls: Array<Promise<unknown>> = [];
    const expected: Array<Array<[number, boolean]>> = [];
    for (let i = 0; i < 40; i++) {
      const values = [`late ${i}`, `late ${i % 7}`];
      expected.push(model.append(values));
      calls.push(log.append(values.map((v) => enc.encode(v))).then((r) => r.map((x) => [x.index, x.duplicate])));
      // Let the group commit start writing before the next append arrives.
      await new Promise((r) => setImmediate(r));
    }
    const within = await Promise.race([Promise.all(calls), new Promise((r) => setTimeout(() => r('stranded'), 10_000))]);
    expect(within).toEqual(expected);
    await log.close();
  });

  it('keeps every index under a shared leaf-hash prefix in the store', async () => {
    const store = await LevelLogStore.open(await freshDir());
    const prefix = sha('shared').subarray(0, 8);
    const withPrefix = (tail: string) => {
      const h = Uint8Array.from(sha(tail));
      h.set(prefix, 0);
      return h;
    };
    const a = withPrefix('a');
    const b = withPrefix('b');
    const c = withPrefix('c');
    const other = Uint8Array.from(sha('other'));
    // Two sharing a prefix inside one batch, a third in a later batch.
    await store.appendEntries(0, [enc.encode('A'), enc.encode('B'), enc.encode('X')], [a, b, other], [[], [], []]);
    const [before] = await store.findLeafHashes([c]);
    expect(before).toEqual([0, 1]);
    await store.appendEntries(3, [enc.encode('C')], [c], [before]);
    const found = await store.findLeafHashes([a, c, other, Uint8Array.from(sha('absent'))]);
    expect(found).toEqual([[0, 1, 3], [0, 1, 3], [2], []]);
    await store.close();
  });
});

describe('entry chunks', () => {
  it('reads any range back exactly, across chunk and bundle boundaries (property)', async () => {
    const store = await LevelLogStore.open(await freshDir());
    const all: Uint8Array[] = [];
    const sizes = [1, 255, 3, 600, 17, 256, 256, 1, 700];
    for (const n of sizes) {
      const batch = Array.from({ length: n }, (_, i) => enc.encode(`e${all.length + i}-${'x'.repeat((all.length + i) % 50)}`));
      await store.appendEntries(all.length, batch, batch.map((e) => nodeHasher.hashLeaf(e)), batch.map(() => []));
      all.push(...batch);
    }
    expect(await store.sequencedSize()).toBe(all.length);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: all.length - 1 }), fc.integer({ min: 1, max: 700 }), async (first, want) => {
        const count = Math.min(want, all.length - first);
        const got = await store.readEntries(first, count);
        expect(got.map((e) => Buffer.from(e).toString())).toEqual(all.slice(first, first + count).map((e) => Buffer.from(e).toString()));
      }),
      { numRuns: 200 },
    );
    await expect(store.readEntries(all.length - 1, 2)).rejects.toThrow(/not all stored/);
    await store.close();
  });

  it('reports its memory: the LevelDB write buffer grows with what is written, the filter holds 16 bits a key', async () => {
    const store = await LevelLogStore.open(await freshDir());
    const part = (name: string) => store.memoryUse().find((m) => m.part === name)?.bytes ?? NaN;
    const before = part('leveldb');
    // The first filter layer is sized for a million entries (2^24 bits, the next power of two).
    expect(part('dedup-filter')).toBe(2 ** 24 / 8);
    const batch = Array.from({ length: 1000 }, (_, i) => enc.encode(`entry ${i} ${'y'.repeat(200)}`));
    await store.appendEntries(0, batch, batch.map((e) => nodeHasher.hashLeaf(e)), batch.map(() => []));
    expect(part('leveldb') - before).toBeGreaterThan(1000 * 200);
    await store.close();
    expect(store.memoryUse().map((m) => m.part)).toEqual(['dedup-filter']);
  });
});

describe('prefix Bloom filter', () => {
  const prefixOf = (i: number) => sha(`key ${i}`).subarray(0, 8);

  it('never forgets a key it was given (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 1e6 }), { maxLength: 2000 }), (ids) => {
        const filter = new PrefixBloomFilter(Math.max(1, ids.length));
        for (const id of ids) filter.add(prefixOf(id));
        for (const id of ids) expect(filter.mayContain(prefixOf(id))).toBe(true);
        expect(filter.size).toBe(ids.length);
      }),
    );
  });

  it('answers "maybe" for well under 1% of absent keys at capacity', () => {
    const capacity = 50_000;
    const filter = new PrefixBloomFilter(capacity);
    for (let i = 0; i < capacity; i++) filter.add(prefixOf(i));
    expect(filter.full).toBe(true);
    let maybe = 0;
    const probes = 100_000;
    for (let i = capacity; i < capacity + probes; i++) if (filter.mayContain(prefixOf(i))) maybe++;
    // 16 bits and 8 probes per key: about 0.06 % in theory.
    expect(maybe / probes).toBeLessThan(0.005);
  });

  it('layered: grows by new layers past its first capacity, never forgets, stays selective', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 5000 }), (capacity, count) => {
        const filter = new LayeredBloomFilter(new PrefixBloomFilter(capacity));
        for (let i = 0; i < count; i++) filter.add(prefixOf(i));
        expect(filter.size).toBe(count);
        for (let i = 0; i < count; i++) expect(filter.mayContain(prefixOf(i))).toBe(true);
        // Capacities c, 4c, 16c, …: the fewest layers that hold `count` keys.
        let layers = 1;
        for (let held = capacity, next = capacity; held < count; layers++) held += next *= LayeredBloomFilter.GROWTH;
        expect(filter.layerCount).toBe(Math.max(1, layers));
      }),
      { numRuns: 40 },
    );
    const filter = new LayeredBloomFilter(new PrefixBloomFilter(1000));
    for (let i = 0; i < 21_000; i++) filter.add(prefixOf(i)); // three layers: 1,000 + 4,000 + 16,000
    expect(filter.layerCount).toBe(3);
    let maybe = 0;
    for (let i = 21_000; i < 121_000; i++) if (filter.mayContain(prefixOf(i))) maybe++;
    expect(maybe / 100_000).toBeLessThan(0.005);
    // 16 bits a key, each layer rounded up to a power of two: 2^14 + 2^16 + 2^18 bits.
    expect(filter.bytes).toBe((2 ** 14 + 2 ** 16 + 2 ** 18) / 8);
  });
});

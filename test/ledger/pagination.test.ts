/**
 * Bounded queries over a real ledger on LevelDB: one index key per (work, training use), use
 * lists answered a page at a time from a cursor, creators' lists merged in log order, consents
 * paginated, derived-model reports capped. Expected lists are computed from the submitted records
 * by the rule of spec/storage.md (a work counts at the first item of a use naming it).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TAG, prefixRange, workPrefix, workUseKey } from '../../src/ledger/keys.js';
import { MAX_DERIVED_REPORTS } from '../../src/ledger/reports.js';
import { MAX_CREATOR_WORKS, PAGE_LIMIT } from '../../src/ledger/queries.js';
import type { Ledger, UseCursor, UseReport } from '../../src/ledger/index.js';
import { type RecordPayload, type UseItem, signRecord, toHex, writeManifest } from '../../src/records/index.js';
import { type TestKey, alice, bob, builder1, builder2, creator, grant, item, lineage, sha256Id, use, verify } from '../records/fixtures.js';
import { chunked, freshDir, openTestLedger, openTestLedgerAndStore, settled } from './support.js';

const sign = (p: RecordPayload, who: TestKey) => signRecord(p, who.signer, { verify });
const cmp = (a: UseCursor, b: UseCursor) => a.useIndex - b.useIndex || a.position - b.position;
const cursorOf = (r: UseCursor) => ({ useIndex: r.useIndex, position: r.position });

async function manifestOf(ledger: Ledger, items: UseItem[]): Promise<{ root: string; count: number }> {
  const parts: Uint8Array[] = [];
  const summary = await writeManifest(items, items.length, (c) => void parts.push(c.slice()));
  const manifest = { root: toHex(summary.root), count: summary.count };
  await ledger.putManifest(chunked(Buffer.concat(parts), 64 * 1024), manifest);
  return manifest;
}

type Page = { uses: UseReport[]; next: UseCursor | null };

/** Every page from `after` on, checking each page's own promises (size, `next`). */
async function walk(fetch: (after: UseCursor | null) => Promise<Page>, limit: number, after: UseCursor | null = null): Promise<UseCursor[]> {
  const seen: UseCursor[] = [];
  for (let pages = 0; ; pages++) {
    expect(pages).toBeLessThan(10_000);
    const page = await fetch(after);
    expect(page.uses.length).toBeLessThanOrEqual(limit);
    seen.push(...page.uses.map(cursorOf));
    if (page.next === null) return seen;
    expect(page.next).toEqual(cursorOf(page.uses[page.uses.length - 1]));
    after = page.next;
  }
}

describe('identical items within one use are counted once', () => {
  it('a manifest naming one work 20,000 times is one use of it: one key, one report, one notification, one item in /stats', async () => {
    const { ledger, store } = await openTestLedgerAndStore(await freshDir());
    const W = sha256Id('attacked work');
    const [, g] = await ledger.submit([sign(creator(alice), alice), sign(grant(alice, [[W]]), alice)]);
    const items = [item(sha256Id('first'), { none: true }), ...Array.from({ length: 20_000 }, () => item(W, { index: g.index }))];
    const manifest = await manifestOf(ledger, items);
    const heard: Array<[number, number]> = [];
    ledger.onUse((u) => heard.push([u.useIndex, u.position]));
    const [u] = await ledger.submit([sign(use(builder1, 'm@1', [], { items: undefined, manifest }), builder1)]);
    await settled(ledger, u.index);

    let keys = 0;
    for await (const _ of store.space('ledger').range(prefixRange(workPrefix(TAG.workUse, W)))) keys++;
    expect(keys).toBe(1);
    const started = performance.now();
    const page = await ledger.usesOfWork(W);
    expect(page.uses.map(cursorOf)).toEqual([{ useIndex: u.index, position: 1 }]);
    expect(page.next).toBeNull();
    const mine = await ledger.usesOfCreator(alice.ref);
    expect(mine.uses.map(cursorOf)).toEqual([{ useIndex: u.index, position: 1 }]);
    expect((await ledger.usesSince({ creator: alice.ref }, { useIndex: 0, position: 0 })).uses).toHaveLength(1);
    expect(performance.now() - started).toBeLessThan(2000);
    await expect.poll(() => heard).toEqual([[u.index, 1]]);
    // The totals are tallied behind the index: read once they reach it.
    await expect.poll(async () => ((s) => (s.judged === s.indexed ? s.items : undefined))(await ledger.stats!())).toBe(2);
  });

  it('an index written before deduplication still answers one use per work, skipping the repeats', async () => {
    const { ledger, store } = await openTestLedgerAndStore(await freshDir());
    const W = sha256Id('old index');
    const [g] = await ledger.submit([sign(grant(alice, [[W]]), alice)]);
    const manifest = await manifestOf(ledger, Array.from({ length: 5000 }, () => item(W, { index: g.index })));
    const [u] = await ledger.submit([sign(use(builder1, 'm@1', [], { items: undefined, manifest }), builder1)]);
    const [u2] = await ledger.submit([sign(use(builder1, 'm@2', [item(W, { none: true }), item(W, { none: true })]), builder1)]);
    await settled(ledger, u2.index);
    // What the indexer wrote before: a key per item.
    const old = [...Array.from({ length: 4999 }, (_, i) => workUseKey(W, u.index, i + 1)), workUseKey(W, u2.index, 1)];
    await store.space('ledger').write(old.map((key) => ({ key, value: new Uint8Array(0) })));

    expect((await ledger.usesOfWork(W)).uses.map(cursorOf)).toEqual([
      { useIndex: u.index, position: 0 },
      { useIndex: u2.index, position: 0 },
    ]);
    const first = await ledger.usesOfWork(W, { limit: 1 });
    expect(first.uses.map(cursorOf)).toEqual([{ useIndex: u.index, position: 0 }]);
    expect(first.next).toEqual({ useIndex: u.index, position: 0 });
    // From a cursor inside the repeated keys: that use is behind it.
    expect((await ledger.usesOfWork(W, { after: { useIndex: u.index, position: 17 } })).uses.map(cursorOf)).toEqual([{ useIndex: u2.index, position: 0 }]);
    expect((await ledger.usesOfCreator(alice.ref, { limit: 1, after: first.next })).uses.map(cursorOf)).toEqual([{ useIndex: u2.index, position: 0 }]);
  });
});

describe('pages of use lists', () => {
  const WORKS = ['hot', 'b', 'c', 'd'].map((w) => sha256Id(`paged ${w}`));

  /** Work → its items in log order, a work counted at the first item of a use naming it. */
  function expectedByWork(uses: Array<{ index: number; works: number[] }>): Map<string, UseCursor[]> {
    const byWork = new Map<string, UseCursor[]>(WORKS.map((w) => [w, []]));
    for (const u of uses) {
      const named = new Set<number>();
      u.works.forEach((w, position) => {
        if (named.has(w)) return;
        named.add(w);
        byWork.get(WORKS[w])!.push({ useIndex: u.index, position });
      });
    }
    return byWork;
  }

  it('walking the pages lists every use exactly once, in log order, for works and creators alike (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        // The first work is in most uses, so its list outgrows what is cached whole.
        fc.array(fc.array(fc.constantFrom(0, 0, 0, 1, 2, 3), { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 60, size: 'max' }),
        fc.integer({ min: 1, max: 5 }),
        fc.tuple(fc.nat(70), fc.nat(5)),
        async (useWorks, limit, [fromUse, fromPosition]) => {
          const ledger = await openTestLedger(await freshDir());
          // alice: the hot work and b; bob: c. d is nobody's.
          const grants = await ledger.submit([sign(grant(alice, [[WORKS[0]], [WORKS[1]]]), alice), sign(grant(bob, [[WORKS[2]]]), bob)]);
          const results = await ledger.submit(useWorks.map((works, i) => sign(use(builder1, `m@${i}`, works.map((w) => item(WORKS[w], w < 2 ? { index: grants[0].index } : { none: true }))), builder1)));
          await settled(ledger, results[results.length - 1].index);
          const expected = expectedByWork(useWorks.map((works, i) => ({ index: results[i].index, works })));

          for (const work of WORKS) {
            expect(await walk((after) => ledger.usesOfWork(work, { after, limit }), limit)).toEqual(expected.get(work));
            const from = { useIndex: fromUse, position: fromPosition };
            expect(await walk((after) => ledger.usesOfWork(work, { after, limit }), limit, from)).toEqual(expected.get(work)!.filter((r) => cmp(r, from) > 0));
          }
          const alices = [...expected.get(WORKS[0])!, ...expected.get(WORKS[1])!].sort(cmp).filter((r, i, all) => i === 0 || cmp(all[i - 1], r) !== 0);
          expect(await walk((after) => ledger.usesOfCreator(alice.ref, { after, limit }), limit)).toEqual(alices);
          expect(await walk((after) => ledger.usesSince({ creator: alice.ref }, after, limit), limit)).toEqual(alices);
          expect(await walk((after) => ledger.usesSince({ works: [WORKS[2], WORKS[3]] }, after, limit), limit)).toEqual([...expected.get(WORKS[2])!, ...expected.get(WORKS[3])!].sort(cmp));
          // One unpaginated answer, as before pagination, for what fits in one page.
          const whole = await ledger.usesOfCreator(alice.ref, { limit: PAGE_LIMIT.max });
          expect(whole.uses.map(cursorOf)).toEqual(alices);
          expect(whole.next).toBeNull();
          await ledger.close();
        },
      ),
      { numRuns: 8 },
    );
  });

  it('keeps pages right while the index grows between them (cached lists follow the writes)', async () => {
    const ledger = await openTestLedger(await freshDir());
    const W = WORKS[1];
    const [g] = await ledger.submit([sign(grant(alice, [[W]]), alice)]);
    let declared = 0;
    const declare = async (n: number) => {
      const r = await ledger.submit(Array.from({ length: n }, () => sign(use(builder2, `grow@${declared++}`, [item(W, { index: g.index })]), builder2)));
      await settled(ledger, r[r.length - 1].index);
      return r.map((x) => ({ useIndex: x.index, position: 0 }));
    };
    const all = await declare(5);
    const first = await ledger.usesOfWork(W, { limit: 3 });
    // Past the whole-list cache's size, and back to one page at a time.
    all.push(...(await declare(40)));
    const rest = await walk((after) => ledger.usesOfWork(W, { after, limit: 7 }), 7, first.next);
    expect([...first.uses.map(cursorOf), ...rest]).toEqual(all);
    expect((await ledger.usesOfCreator(alice.ref, { limit: 1000 })).uses.map(cursorOf)).toEqual(all);
  });

  it('merges near copies into a creator’s pages in log order, each once, with their distance', async () => {
    const ledger = await openTestLedger(await freshDir());
    const base = 0x0123456789abcdefn;
    const phash = (flip: number) => `phash:${(base ^ ((1n << BigInt(flip)) - 1n)).toString(16).padStart(16, '0')}`;
    const mine = [sha256Id('original'), phash(0)];
    const [g] = await ledger.submit([sign(grant(alice, [mine]), alice)]);
    // Exact uses of the original and near copies at distances 1…8, interleaved.
    const payloads = Array.from({ length: 16 }, (_, i) =>
      i % 2 === 0 ? use(builder1, `near@${i}`, [item(sha256Id(`other ${i}`), { none: true }), item([sha256Id(`copy ${i}`), phash(1 + (i % 8))], { none: true })]) : use(builder1, `exact@${i}`, [item(mine, { index: g.index })]),
    );
    const results = await ledger.submit(payloads.map((p) => sign(p, builder1)));
    await settled(ledger, results[results.length - 1].index);
    const whole = await ledger.usesOfCreator(alice.ref, { limit: 1000 });
    expect(whole.uses.map(cursorOf)).toEqual(results.map((r, i) => ({ useIndex: r.index, position: i % 2 === 0 ? 1 : 0 })));
    expect(whole.uses.filter((_, i) => i % 2 === 0).map((u) => u.verdict.distance)).toEqual(Array.from({ length: 8 }, (_, k) => 1 + ((2 * k) % 8)));
    expect(whole.nearCopiesTruncated).toBe(false);
    const paged: UseReport[] = [];
    for (let after: UseCursor | null = null; ; ) {
      const page = await ledger.usesOfCreator(alice.ref, { after, limit: 3 });
      paged.push(...page.uses);
      if (!page.next) break;
      after = page.next;
    }
    expect(paged).toEqual(whole.uses);
  });

  it('caps the works a creator’s page merges, and says so', async () => {
    const ledger = await openTestLedger(await freshDir());
    const works = Array.from({ length: 1200 }, (_, i) => [sha256Id(`many ${i}`)]);
    const grants = await ledger.submit([0, 400, 800].map((at) => sign(grant(alice, works.slice(at, at + 400)), alice)));
    const [late] = await ledger.submit([sign(use(builder1, 'm@1', [item(works[1100][0], { index: grants[2].index }), item(works[5][0], { index: grants[0].index })]), builder1)]);
    await settled(ledger, late.index);
    const page = await ledger.usesOfCreator(alice.ref);
    expect(page.works).toHaveLength(MAX_CREATOR_WORKS);
    expect(page.worksTruncated).toBe(true);
    expect(page.uses.map(cursorOf)).toEqual([{ useIndex: late.index, position: 1 }]);
    // The rest are still answered per work.
    expect((await ledger.usesOfWork(works[1100][0])).uses.map(cursorOf)).toEqual([{ useIndex: late.index, position: 0 }]);
  });

  it('reports at most MAX_DERIVED_REPORTS derived models per item, and says so', async () => {
    const ledger = await openTestLedger(await freshDir());
    const W = sha256Id('lineage');
    const [g] = await ledger.submit([sign(grant(alice, [[W]]), alice)]);
    const [u] = await ledger.submit([sign(use(builder1, 'base@1', [item(W, { index: g.index })]), builder1)]);
    const children = await ledger.submit(Array.from({ length: MAX_DERIVED_REPORTS + 8 }, (_, i) => sign(lineage(builder2, `child${i}@1`, { builder: builder1, model: 'base@1' }), builder2)));
    await settled(ledger, children[children.length - 1].index);
    const page = await ledger.usesOfWork(W);
    expect(page.uses).toHaveLength(1 + MAX_DERIVED_REPORTS);
    expect(page.uses.every((r) => r.useIndex === u.index)).toBe(true);
    expect(page.uses.slice(1).map((r) => r.via!.lineageIndex)).toEqual(children.slice(0, MAX_DERIVED_REPORTS).map((c) => c.index));
    expect(page.lineageTruncated).toBe(true);
    expect((await ledger.usesOfWork(W)).uses.slice(1).every((r) => r.verdict.verdict === 'consented')).toBe(true);
  });
});

describe('pages of consents', () => {
  it('lists the grants naming a work a page at a time', async () => {
    const ledger = await openTestLedger(await freshDir());
    const W = sha256Id('granted often');
    const grants = await ledger.submit(Array.from({ length: 7 }, (_, i) => sign(grant(i % 2 ? bob : alice, [[W], [sha256Id(`other ${i}`)]]), i % 2 ? bob : alice)));
    await settled(ledger, grants[6].index);
    const indexes: number[] = [];
    const sizes: number[] = [];
    for (let after: number | null = null; ; ) {
      const page = await ledger.consentsOfWork(W, { after, limit: 3 });
      sizes.push(page.consents.length);
      indexes.push(...page.consents.map((c) => c.index));
      if (page.next === null) break;
      expect(page.next).toBe(page.consents[page.consents.length - 1].index);
      after = page.next;
    }
    expect(sizes).toEqual([3, 3, 1]);
    expect(indexes).toEqual(grants.map((g) => g.index));
    expect((await ledger.consentsOfWork(W)).consents.map((c) => c.author)).toEqual(grants.map((_, i) => (i % 2 ? bob.ref : alice.ref)));
  });
});

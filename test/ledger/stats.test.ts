/** GET /stats behind the scenes: record counts, verdict totals of every item (inline and manifest), history. */
import { describe, expect, it } from 'vitest';
import { type UseItem, signRecord, writeManifest } from '../../src/records/index.js';
import { alice, bob, builder1, creator, grant, item, sha256Id, use, verify } from '../records/fixtures.js';
import { chunked, freshDir, openTestLedger, settled } from './support.js';

const sign = (payload: Parameters<typeof signRecord>[0], who: { signer: Parameters<typeof signRecord>[1] }) => signRecord(payload, who.signer, { verify });

describe('ledger stats', () => {
  it('counts records by type and judges every declared item', async () => {
    const ledger = await openTestLedger(await freshDir());
    const W = [sha256Id('s1'), sha256Id('s2'), sha256Id('s3')];
    const [, g] = await ledger.submit([sign(creator(alice), alice), sign(grant(alice, [[W[0]]]), alice), sign(creator(bob), bob)]);
    // Inline: one consented item, one without consent.
    await ledger.submit([sign(use(builder1, 'm@1', [item(W[0], { index: g.index }), item(W[1], { none: true })]), builder1)]);
    // Manifest: 300 items without consent and one consented.
    const items: UseItem[] = [...Array.from({ length: 300 }, (_, i) => item(sha256Id(`many ${i}`), { none: true })), item(W[0], { index: g.index })];
    const chunks: Uint8Array[] = [];
    const summary = await writeManifest(items, items.length, (c) => void chunks.push(c.slice()));
    const bytes = Uint8Array.from(chunks.flatMap((c) => Array.from(c)));
    const root = Buffer.from(summary.root).toString('hex');
    await ledger.putManifest(chunked(bytes, 1000), { root, count: items.length });
    const [last] = await ledger.submit([sign(use(builder1, 'm@2', [], { items: undefined, manifest: { root, count: items.length } } as never), builder1)]);
    await settled(ledger, last.index);
    const stats = await ledger.stats!();
    expect(stats.treeSize).toBe(last.index + 1);
    expect(stats.records).toEqual({ creator: 2, 'consent-grant': 1, 'training-use': 2 });
    expect(stats.items).toBe(2 + 301);
    expect(stats.verdicts).toEqual({ consented: 2, 'no-consent': 301 });
    expect(stats.history.at(-1)!.size).toBe(last.index + 1);
    expect(stats.history.map((h) => h.size)).toEqual([...stats.history.map((h) => h.size)].sort((a, b) => a - b));
  });
});

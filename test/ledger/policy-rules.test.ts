/**
 * The server's policy facts are derived from the log under one version of the consent rules
 * (POLICY_RULES). A store derived under another version — or before versions were stored — is
 * rebuilt from the log on open, and the verdict tallies judged under it are counted again; a
 * store of the current version is left as it is.
 */
import { describe, expect, it } from 'vitest';
import { u64, verdictsKey } from '../../src/ledger/keys.js';
import { POLICY_RULES, POLICY_TAG } from '../../src/ledger/policy-facts.js';
import { signRecord } from '../../src/records/index.js';
import { LevelLogStore } from '../../src/store/index.js';
import { alice, bob, builder1, creator, grant, item, sha256Id, use, verify } from '../records/fixtures.js';
import { freshDir, openTestLedger, settled, tallied } from './support.js';

const sign = (payload: Parameters<typeof signRecord>[0], who: { signer: Parameters<typeof signRecord>[1] }) => signRecord(payload, who.signer, { verify });
const utf8 = new TextEncoder();
/** The stored count of records of `type` (POLICY_TAG.count ‖ type ‖ 0x00 → u64). */
const countKey = (type: string) => Uint8Array.from([POLICY_TAG.count, ...utf8.encode(type), 0]);


/** Writes into a closed ledger's store, as an older server would have left it. */
async function tamper(dir: string, ops: (policy: ReturnType<LevelLogStore['space']>, index: ReturnType<LevelLogStore['space']>) => Promise<void>): Promise<void> {
  const store = await LevelLogStore.open(dir);
  try {
    await ops(store.space('policy'), store.space('ledger'));
  } finally {
    await store.close();
  }
}

describe('policy rules version', () => {
  it('rebuilds facts and tallies derived under other rules, and keeps those of the current rules', async () => {
    const dir = await freshDir();
    let ledger = await openTestLedger(dir);
    const W = sha256Id('rules');
    const [, g] = await ledger.submit([sign(creator(alice), alice), sign(grant(alice, [[W]]), alice), sign(creator(bob), bob)]);
    const [u] = await ledger.submit([sign(use(builder1, 'm@1', [item(W, { index: g.index }), item(sha256Id('other'), { none: true })]), builder1)]);
    await settled(ledger, u.index);
    const honest = await tallied(ledger);
    expect(honest.records).toEqual({ creator: 2, 'consent-grant': 1, 'training-use': 1 });
    await ledger.close();

    // A store of rules version 1 with facts and tallies those rules no longer give.
    await tamper(dir, async (policy, index) => {
      await policy.write([
        { key: Uint8Array.of(POLICY_TAG.rules), value: Uint8Array.of(0, 0, 0, 1) },
        { key: countKey('creator'), value: u64(999) },
      ]);
      await index.write([{ key: verdictsKey, value: utf8.encode(JSON.stringify({ judged: u.index + 1, position: 0, items: 7, verdicts: { revoked: 7 } })) }]);
    });
    ledger = await openTestLedger(dir);
    const rebuilt = await tallied(ledger);
    expect(rebuilt.records).toEqual(honest.records);
    expect({ items: rebuilt.items, verdicts: rebuilt.verdicts }).toEqual({ items: honest.items, verdicts: honest.verdicts });
    await ledger.close();

    // The current version is not rebuilt: what it stores is what it answers.
    await tamper(dir, async (policy) => {
      const stored = await policy.get(Uint8Array.of(POLICY_TAG.rules));
      expect(stored && Array.from(stored)).toEqual([0, 0, 0, POLICY_RULES]);
      await policy.write([{ key: countKey('creator'), value: u64(999) }]);
    });
    ledger = await openTestLedger(dir);
    expect((await ledger.stats!()).records.creator).toBe(999);
  });
});

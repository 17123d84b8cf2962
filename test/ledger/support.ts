/** Shared set-up for ledger tests: a ledger on a real LevelDB store in a temp dir. */
import { afterEach } from 'vitest';
import { openLedger, type Ledger, type LedgerOptions, type LedgerStats } from '../../src/ledger/index.js';
import { generatePrivateKey, parseVerifierKey, verifierKeyOf } from '../../src/note/index.js';
import { nodeSigner } from '../../src/platform/node-signer.js';
import { LevelLogStore } from '../../src/store/index.js';
import { tempDir } from '../support/tmp.js';

export const ORIGIN = 'test.example/ledger';
export const logKey = generatePrivateKey(ORIGIN);
export const logVerifier = parseVerifierKey(verifierKeyOf(logKey));

export type TestLedger = Ledger & { reindex(): Promise<void> };

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

export async function freshDir(): Promise<string> {
  const { dir, cleanup } = await tempDir('pvl-ledger-');
  cleanups.push(cleanup);
  return dir;
}

/** Opens a ledger on `dir`; it is closed after the test unless the test closed it. */
export async function openTestLedger(dir: string, opts: Partial<LedgerOptions> = {}): Promise<TestLedger> {
  return (await openTestLedgerAndStore(dir, opts)).ledger;
}

/** The ledger and its store, for tests that look at the stored keys. */
export async function openTestLedgerAndStore(dir: string, opts: Partial<LedgerOptions> = {}): Promise<{ ledger: TestLedger; store: LevelLogStore }> {
  const store = await LevelLogStore.open(dir);
  const ledger = (await openLedger({ store, origin: ORIGIN, signer: nodeSigner(logKey), integrateIntervalMs: 5, ...opts })) as TestLedger;
  cleanups.push(() => ledger.close());
  return { ledger, store };
}

/** Resolves once entry `index` is in a checkpoint and in the query index. */
export async function settled(ledger: Ledger, index: number): Promise<void> {
  await ledger.waitForCheckpoint(index);
  while (ledger.indexedSize <= index) await new Promise((r) => setTimeout(r, 2));
}

export async function* chunked(bytes: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

/** The figures once the /stats tallies have caught up with the index (the follower works behind it). */
export async function tallied(ledger: Ledger): Promise<LedgerStats> {
  for (;;) {
    const stats = await ledger.stats!();
    if (stats.judged === stats.indexed && stats.indexed === ledger.indexedSize) return stats;
    await new Promise((r) => setTimeout(r, 2));
  }
}

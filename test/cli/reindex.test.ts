/** `pvl reindex`: the query index rebuilt from the log alone gives the same answers. */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { openLedger } from '../../src/ledger/index.js';
import { formatPrivateKey, generatePrivateKey } from '../../src/note/index.js';
import { nodeSigner } from '../../src/platform/node-signer.js';
import { signRecord } from '../../src/records/index.js';
import { LevelLogStore } from '../../src/store/index.js';
import { alice, builder1, grant, item, sha256Id, use, verify } from '../records/fixtures.js';
import { tempDir } from '../support/tmp.js';

const cli = new URL('../../dist/src/cli/main.js', import.meta.url).pathname;
const ORIGIN = 'localhost/provenance-ledger';

describe('pvl reindex', () => {
  it('rebuilds the index from the log; queries answer the same afterwards', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const key = generatePrivateKey(ORIGIN);
      await writeFile(join(dir, 'log.key'), `${formatPrivateKey(key.name, key.seed)}\n`, { mode: 0o600 });
      const open = async () => openLedger({ store: await LevelLogStore.open(join(dir, 'store')), origin: ORIGIN, signer: nodeSigner(key), integrateIntervalMs: 5 });
      const W = sha256Id('reindexed work');
      let ledger = await open();
      const [g] = await ledger.submit([signRecord(grant(alice, [[W]]), alice.signer, { verify })]);
      const [u] = await ledger.submit([signRecord(use(builder1, 'm@1', [item(W, { index: g.index })]), builder1.signer, { verify })]);
      await ledger.waitForCheckpoint(u.index);
      while (ledger.indexedSize <= u.index) await new Promise((r) => setTimeout(r, 5));
      const before = (await ledger.usesOfWork(W)).uses.map((r) => [r.useIndex, r.position, r.verdict.verdict]);
      await ledger.close();

      const { stdout } = await promisify(execFile)(process.execPath, [cli, 'reindex', '--data', dir, '--json']);
      expect(JSON.parse(stdout)).toMatchObject({ entries: 2 });

      ledger = await open();
      expect((await ledger.usesOfWork(W)).uses.map((r) => [r.useIndex, r.position, r.verdict.verdict])).toEqual(before);
      expect(before).toEqual([[1, 0, 'consented']]);
      await ledger.close();
    } finally {
      await cleanup();
    }
  });

  it('refuses a directory that pvl serve never used, in one line', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const failed = await promisify(execFile)(process.execPath, [cli, 'reindex', '--data', dir]).then(
        () => undefined,
        (e: { code: number; stderr: string }) => e,
      );
      expect(failed?.code).not.toBe(0);
      expect(failed?.stderr.trim().split('\n')).toHaveLength(1);
      expect(failed?.stderr).toMatch(/log\.key not found/);
    } finally {
      await cleanup();
    }
  });
});

/**
 * `pvl reindex --data DIR`: throws away the query index and rebuilds it from the log, the only
 * source of truth (spec/storage.md). Run it with the server stopped: the store's lock refuses a
 * second process.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { openLedger } from '../../ledger/index.js';
import { parsePrivateKey } from '../../note/index.js';
import { nodeEd25519Verify, nodeSigner } from '../../platform/node-signer.js';
import { LevelLogStore } from '../../store/index.js';
import { UsageError, printJson } from '../output.js';

interface ReindexOptions {
  data: string;
  json?: boolean;
}

async function runReindex(opts: ReindexOptions): Promise<void> {
  const keyPath = join(opts.data, 'log.key');
  const keyText = await readFile(keyPath, 'utf8').catch(() => {
    throw new UsageError(`${keyPath} not found: --data must be a directory pvl serve has used`);
  });
  const key = parsePrivateKey(keyText.trim());
  const store = await LevelLogStore.open(join(opts.data, 'store'));
  const ledger = await openLedger({ store, origin: key.name, signer: nodeSigner(key), verify: nodeEd25519Verify });
  const start = performance.now();
  try {
    await ledger.reindex();
  } finally {
    await ledger.close();
  }
  const result = { entries: ledger.indexedSize, seconds: Number(((performance.now() - start) / 1000).toFixed(2)) };
  if (opts.json) printJson(result);
  else console.log(`reindexed ${result.entries.toLocaleString('en-US')} entries in ${result.seconds} s`);
}

export function registerReindex(program: Command): void {
  program
    .command('reindex')
    .description('rebuild the query index from the log (server stopped)')
    .option('--data <dir>', 'data directory of pvl serve', './data')
    .option('--json', 'machine-readable output')
    .action(async (opts: ReindexOptions) => runReindex(opts));
}

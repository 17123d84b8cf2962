/** `pvl receipts check`: proves the public log consistent with every receipt the submitting commands kept. */
import type { Command } from 'commander';
import { LedgerClient } from '../../client/index.js';
import { LedgerError } from '../../errors.js';
import { addTrustOptions, loadTrust, saveEvidence } from '../evidence.js';
import { readVerifierKey } from '../keys.js';
import { colour, printJson, printTable } from '../output.js';
import { checkReceipts } from '../receipts.js';

interface CheckOpts {
  server: string;
  vkey: string;
  witness?: string[];
  quorum?: string;
  policy?: string;
  dir: string;
  evidenceDir: string;
  json?: boolean;
}

export function registerReceipts(program: Command): void {
  const receipts = program.command('receipts').description('the receipts the submitting commands keep');
  const check = receipts
    .command('check')
    .description('prove the public log consistent with every receipt, each entry still included')
    .option('--server <url>', 'ledger server URL', process.env.PVL_SERVER ?? 'http://127.0.0.1:8080')
    .requiredOption('--vkey <vkey>', 'log verifier key or file');
  addTrustOptions(check)
    .option('--dir <dir>', 'receipts directory', 'receipts')
    .option('--evidence-dir <dir>', 'where split-view evidence files are written', '.')
    .option('--json', 'machine-readable output')
    .action(async (opts: CheckOpts) => {
      const trust = await loadTrust(opts);
      const client = new LedgerClient(opts.server, { verifier: await readVerifierKey(trust.vkey), policy: trust.policy });
      const current = await client.checkpoint();
      const rows = await checkReceipts(client, current, opts.dir, {
        vkey: trust.vkey,
        source: `log ${opts.server}`,
        saveEvidence: async (ev) => (await saveEvidence(opts.evidenceDir, [ev]))[0],
      });
      const failed = rows.filter((r) => r.status !== 'ok');
      if (opts.json) printJson({ server: opts.server, treeSize: current.checkpoint.size, receipts: rows, failed: failed.length });
      else {
        console.log(`log ${opts.server}: checkpoint of size ${current.checkpoint.size} verified${trust.policy ? ' (witness policy met)' : ''}; ${rows.length} receipt(s) in ${opts.dir}`);
        if (rows.length > 0) {
          printTable(
            ['Index', 'Record', 'Receipt size', 'Status', 'File'],
            rows.map((r) => [r.index ?? '?', r.recordType ?? '?', r.receiptSize ?? '?', r.status === 'ok' ? colour.green('ok') : colour.red(r.status), r.file]),
          );
        }
        for (const r of failed) console.log(`${r.file}: ${r.detail}${r.evidence ? `; evidence saved to ${r.evidence}` : ''}`);
      }
      if (failed.length > 0) {
        const first = failed[0];
        const what = first.index === null ? first.file : `index ${first.index} (${first.recordType}, ${first.file})`;
        throw new LedgerError('receipt-not-in-log', `receipts: ${failed.length} of ${rows.length} not proven in the log at size ${current.checkpoint.size}; ${what}: ${first.detail}`);
      }
    });
}

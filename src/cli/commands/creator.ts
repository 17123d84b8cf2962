/** `pvl creator register`: sign and submit a creator record. */
import type { Command } from 'commander';
import { formatRecordTime, type CreatorRecord } from '../../records/index.js';
import { readKeyFile } from '../keys.js';
import { printJson } from '../output.js';
import { submitRecord } from '../submit.js';
import { printSubmitted, serverOptions, submitExtras, type ServerOpts } from '../record-options.js';

export function registerCreator(program: Command): void {
  const creator = program.command('creator').description('creator identity records');
  serverOptions(creator.command('register').description('register a creator key with a name'))
    .requiredOption('--key <file>', 'private key file (pvl keygen)')
    .requiredOption('--name <name>', 'display name')
    .option('--url <url>', 'website claim')
    .action(async (opts: ServerOpts & { key: string; name: string; url?: string }) => {
      const key = await readKeyFile(opts.key);
      const payload: CreatorRecord = { type: 'creator', v: 1, author: key.keyRef, time: formatRecordTime(new Date()), name: opts.name, ...(opts.url ? { claims: { website: opts.url } } : {}) };
      const result = await submitRecord(opts.server, opts.vkey, key, payload, opts.proofOut, await submitExtras(opts));
      if (opts.json) return printJson({ ...result, author: key.keyRef });
      printSubmitted('creator', result);
    });
}

/** `pvl ruling`: an attester's signed ruling on who owns a work (it settles disputes for verifiers that trust the attester). */
import type { Command } from 'commander';
import { formatRecordTime, isWorkId, type DisputeRulingRecord, type KeyRef } from '../../records/index.js';
import { readKeyFile } from '../keys.js';
import { printJson, UsageError } from '../output.js';
import { printSubmitted, serverOptions, submitExtras, type ServerOpts } from '../record-options.js';
import { submitRecord } from '../submit.js';
import { keyRefOption } from './consent.js';

const collect = (v: string, prev: string[] = []) => [...prev, ...v.split(',').filter(Boolean)];

interface RulingOpts extends ServerOpts {
  key: string;
  work: string[];
  owner: KeyRef;
  statement?: string;
}

export function rulingPayload(author: KeyRef, o: RulingOpts, now = new Date()): DisputeRulingRecord {
  for (const w of o.work) if (!isWorkId(w)) throw new UsageError(`--work: not a work identifier: ${w}`);
  if (!o.work.some((w) => w.startsWith('sha256:'))) throw new UsageError('--work: name the work by its sha256: identifier (and, optionally, its perceptual ones)');
  return { type: 'dispute-ruling', v: 1, author, time: formatRecordTime(now), work: o.work as DisputeRulingRecord['work'], owner: o.owner, ...(o.statement ? { statement: o.statement } : {}) };
}

export function registerRuling(program: Command): void {
  serverOptions(program.command('ruling').description('rule, as an attester, which creator identity owns a disputed work'))
    .requiredOption('--key <file>', 'the attester’s private key file')
    .requiredOption('--work <ids...>', 'the identifiers of one work (its sha256:…, optionally phash:… etc.)', collect)
    .requiredOption('--owner <keyref>', 'the creator identity that owns the work', keyRefOption('--owner'))
    .option('--statement <text>', 'the grounds of the ruling')
    .action(async (opts: RulingOpts) => {
      const key = await readKeyFile(opts.key);
      const result = await submitRecord(opts.server, opts.vkey, key, rulingPayload(key.keyRef, opts), opts.proofOut, await submitExtras(opts));
      if (opts.json) return printJson(result);
      printSubmitted('dispute-ruling', result);
    });
}

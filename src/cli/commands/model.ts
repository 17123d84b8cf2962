/** `pvl model derive|retire`: model lineage and retirement records. */
import type { Command } from 'commander';
import { formatRecordTime, type ModelLineageRecord, type ModelRetirementRecord } from '../../records/index.js';
import { readKeyFile } from '../keys.js';
import { parseModelRef, parseNameVersion } from '../model-name.js';
import { printJson } from '../output.js';
import { printSubmitted, serverOptions, submitExtras, type ServerOpts } from '../record-options.js';
import { submitRecord } from '../submit.js';
import { parseTime } from './consent.js';

export function registerModel(program: Command): void {
  const model = program.command('model').description('model lineage and retirement');
  serverOptions(model.command('derive').description('declare that a model derives from a parent model'))
    .requiredOption('--key <file>', 'builder private key file')
    .requiredOption('--model <name@version>', 'the new model')
    .requiredOption('--parent <[builder/]name@version>', 'the parent model (default builder: you)')
    .option('--relation <r>', 'fine-tuning | distillation | merging | other', 'fine-tuning')
    .option('--weights <sha256-id>', 'sha256:<hex> of the weights')
    .action(async (opts: ServerOpts & { key: string; model: string; parent: string; relation: string; weights?: string }) => {
      const key = await readKeyFile(opts.key);
      const payload = {
        type: 'model-lineage', v: 1, author: key.keyRef, time: formatRecordTime(new Date()),
        model: { ...parseNameVersion(opts.model), ...(opts.weights ? { weightsDigest: opts.weights } : {}) },
        parent: parseModelRef(opts.parent, key.keyRef, '--parent'),
        relation: opts.relation,
      } as ModelLineageRecord;
      const result = await submitRecord(opts.server, opts.vkey, key, payload, opts.proofOut, await submitExtras(opts));
      if (opts.json) return printJson(result);
      printSubmitted('model-lineage', result);
    });
  serverOptions(model.command('retire').description('declare a model retired or destroyed'))
    .requiredOption('--key <file>', 'builder private key file')
    .requiredOption('--model <name@version>', 'your model')
    .option('--status <s>', 'retired | destroyed', 'retired')
    .option('--effective <time>', 'from when (default now)')
    .option('--statement <text>', 'free text')
    .action(async (opts: ServerOpts & { key: string; model: string; status: string; effective?: string; statement?: string }) => {
      const key = await readKeyFile(opts.key);
      const now = new Date();
      const payload = {
        type: 'model-retirement', v: 1, author: key.keyRef, time: formatRecordTime(now),
        model: parseNameVersion(opts.model), status: opts.status,
        effective: opts.effective ? parseTime(opts.effective, '--effective') : formatRecordTime(now),
        ...(opts.statement ? { statement: opts.statement } : {}),
      } as ModelRetirementRecord;
      const result = await submitRecord(opts.server, opts.vkey, key, payload, opts.proofOut, await submitExtras(opts));
      if (opts.json) return printJson(result);
      printSubmitted('model-retirement', result);
    });
}

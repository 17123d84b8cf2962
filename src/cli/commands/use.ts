/**
 * `pvl use declare`: builds a manifest from an items file (pass 1: count and root; pass 2: the
 * bytes, streamed to the server), then signs and submits the training-use record.
 */
import type { Command } from 'commander';
import { fetchVerifierKey, LedgerClient } from '../../client/index.js';
import { ManifestBuilder, MANIFEST_ITEM_SIZE, formatRecordTime, toHex, TRAINING_PURPOSES, type TrainingUseRecord } from '../../records/index.js';
import { readItems } from '../items-file.js';
import { readKeyFile } from '../keys.js';
import { parseNameVersion } from '../model-name.js';
import { printJson, Progress, UsageError } from '../output.js';
import { printSubmitted, serverOptions, type ServerOpts } from '../record-options.js';
import { submitRecord } from '../submit.js';

const CHUNK_ITEMS = 1337;

/** Pass 1: count and root, nothing kept but the tree's right edge. */
export async function summarise(path: string): Promise<{ count: number; root: string }> {
  let count = 0;
  const progress = new Progress('reading items');
  for await (const _ of readItems(path)) progress.update(++count);
  if (count === 0) throw new UsageError(`${path} has no items`);
  progress.done(count);
  const builder = new ManifestBuilder(count);
  const scratch = new Uint8Array(MANIFEST_ITEM_SIZE);
  const hashing = new Progress('hashing manifest', count);
  for await (const item of readItems(path)) {
    builder.addInto(item, scratch, 0);
    hashing.update(builder.added);
  }
  hashing.done(count);
  return { count, root: toHex(builder.finish().root) };
}

/** Pass 2: the manifest bytes, 64 KiB at a time, as a web stream for fetch. */
export function manifestStream(path: string, count: number, onProgress: (n: number) => void): ReadableStream<Uint8Array> {
  const builder = new ManifestBuilder(count);
  const items = readItems(path)[Symbol.asyncIterator]();
  let headerSent = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!headerSent) {
        headerSent = true;
        return controller.enqueue(builder.header);
      }
      const chunk = new Uint8Array(CHUNK_ITEMS * MANIFEST_ITEM_SIZE);
      let filled = 0;
      while (filled < CHUNK_ITEMS) {
        const next = await items.next();
        if (next.done) break;
        builder.addInto(next.value, chunk, filled++ * MANIFEST_ITEM_SIZE);
      }
      onProgress(builder.added);
      if (filled > 0) controller.enqueue(chunk.subarray(0, filled * MANIFEST_ITEM_SIZE));
      if (filled < CHUNK_ITEMS) {
        builder.finish();
        controller.close();
      }
    },
  });
}

interface DeclareOpts extends ServerOpts {
  key: string;
  model: string;
  items: string;
  purpose: string;
  commercial?: boolean;
}

export function registerUse(program: Command): void {
  const use = program.command('use').description('training-use declarations');
  serverOptions(use.command('declare').description('declare the works a model was trained on (manifest)'))
    .requiredOption('--key <file>', 'builder private key file')
    .requiredOption('--model <name@version>', 'the model')
    .requiredOption('--items <file>', 'items: JSON Lines, or CSV if the name ends in .csv')
    .option('--purpose <p>', TRAINING_PURPOSES.join(' | '), 'training')
    .option('--commercial', 'commercial model')
    .action(async (opts: DeclareOpts) => {
      const key = await readKeyFile(opts.key);
      const { count, root } = await summarise(opts.items);
      const verifier = opts.vkey ?? (await fetchVerifierKey(opts.server));
      const client = new LedgerClient(opts.server, { verifier });
      const uploading = new Progress('uploading manifest', count);
      await client.request(`/manifests?root=${root}&count=${count}`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: manifestStream(opts.items, count, (n) => uploading.update(n)),
        duplex: 'half',
      } as RequestInit);
      uploading.done(count);
      const payload = {
        type: 'training-use', v: 1, author: key.keyRef, time: formatRecordTime(new Date()),
        model: parseNameVersion(opts.model), purpose: opts.purpose, commercial: opts.commercial === true,
        manifest: { root, count },
      } as TrainingUseRecord;
      const result = await submitRecord(opts.server, verifier, key, payload, opts.proofOut);
      if (opts.json) return printJson({ ...result, manifest: { root, count } });
      printSubmitted('training-use', result);
      console.log(`manifest ${root} (${count} items) uploaded`);
    });
}

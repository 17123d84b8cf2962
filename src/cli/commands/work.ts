/** `pvl work id FILE…`: the identifiers of works (sha256 of the bytes; perceptual ids via src/works later). */
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import type { Command } from 'commander';
import { formatWorkId, type WorkId } from '../../records/index.js';
import { printJson } from '../output.js';

/** Seam for src/works: returns every identifier of a file. Streams, so large files are fine. */
export async function workIdsOfFile(path: string): Promise<WorkId[]> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return [formatWorkId('sha256', new Uint8Array(hash.digest()))];
}

export function registerWork(program: Command): void {
  const work = program.command('work').description('work identifiers');
  work
    .command('id')
    .description('print the identifiers of each file')
    .argument('<files...>')
    .option('--json', 'machine-readable output')
    .action(async (files: string[], opts: { json?: boolean }) => {
      const rows = [];
      for (const file of files) rows.push({ file, ids: await workIdsOfFile(file) });
      if (opts.json) return printJson(rows);
      for (const r of rows) console.log(`${r.ids.join(' ')}  ${r.file}`);
    });
}

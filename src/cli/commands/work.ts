/** `pvl work id FILE…`: the identifiers of works (sha256 of the bytes, and phash:/tcode: from src/works). */
import type { Command } from 'commander';
import { workIdsOfFile } from '../../works/node.js';
import { printJson } from '../output.js';

export { workIdsOfFile };

export function registerWork(program: Command): void {
  const work = program.command('work').description('work identifiers');
  work
    .command('id')
    .description('print the identifiers of each file: sha256, and a perceptual id for images (phash:) and UTF-8 text (tcode:)')
    .argument('<files...>')
    .option('--json', 'machine-readable output')
    .action(async (files: string[], opts: { json?: boolean }) => {
      const rows = [];
      for (const file of files) rows.push({ file, ids: await workIdsOfFile(file) });
      if (opts.json) return printJson(rows);
      for (const r of rows) console.log(`${r.ids.join(' ')}  ${r.file}`);
    });
}

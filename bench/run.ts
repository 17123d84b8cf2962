/**
 * `npm run bench [-- --json] [-- --quick] [-- --only group,group]` (a group, or a bench's own name)
 * Runs every benchmark file's `benches` and prints a table, or one JSON object per line.
 */
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bench, BenchResult } from './harness.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const quick = args.includes('--quick');
const onlyArg = args.indexOf('--only');
const only = onlyArg >= 0 ? new Set(args[onlyArg + 1].split(',')) : null;

async function loadBenches(): Promise<Bench[]> {
  const here = dirname(fileURLToPath(import.meta.url));
  const files = (await readdir(here)).filter((f) => f.endsWith('.js') && !['run.js', 'harness.js'].includes(f) && !f.startsWith('_'));
  const benches: Bench[] = [];
  for (const f of files.sort()) {
    const mod = (await import(join(here, f))) as { benches?: Bench[] };
    benches.push(...(mod.benches ?? []));
  }
  return benches.filter((b) => !only || only.has(b.group) || (b.name !== undefined && only.has(b.name)));
}

function formatValue(v: unknown): string {
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  return v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toPrecision(3);
}

function printTable(r: BenchResult): void {
  const figures = Object.entries(r)
    .filter(([k]) => k !== 'name')
    .map(([k, v]) => `${k}=${formatValue(v)}`)
    .join('  ');
  console.log(`${r.name.padEnd(22)} ${figures}`);
}

const benches = await loadBenches();
if (!json) console.log(`${'benchmark'.padEnd(22)} figures${quick ? ' (quick sizes)' : ''}`);
for (const bench of benches) {
  const results = await bench.run({ quick });
  for (const r of results) (json ? console.log(JSON.stringify(r)) : printTable(r));
}

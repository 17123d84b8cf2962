/**
 * `npm run bench [-- --json] [-- --quick] [-- --only group,group]` (a group, or a bench's own name)
 * Runs every benchmark file's `benches` and prints a table, or one JSON object per line.
 */
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Bench, BenchResult } from './harness.js';

const USAGE = 'usage: npm run bench [-- --json] [--quick] [--only group,name,…]';

/** The flags, or one line naming what was wrong and exit 2 (a typo must not start an hour of benchmarks). */
function flags(): { json: boolean; quick: boolean; only: Set<string> | null } {
  try {
    const { values } = parseArgs({
      options: { json: { type: 'boolean' }, quick: { type: 'boolean' }, only: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    });
    if (values.help) {
      console.log(USAGE);
      process.exit(0);
    }
    return { json: values.json ?? false, quick: values.quick ?? false, only: values.only === undefined ? null : new Set(values.only.split(',')) };
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message.split('\n')[0]}; ${USAGE}\n`);
    process.exit(2);
  }
}

const { json, quick, only } = flags();

async function loadBenches(): Promise<Bench[]> {
  const here = dirname(fileURLToPath(import.meta.url));
  const files = (await readdir(here)).filter((f) => f.endsWith('.js') && !['run.js', 'harness.js'].includes(f) && !f.startsWith('_'));
  const benches: Bench[] = [];
  for (const f of files.sort()) {
    const mod = (await import(join(here, f))) as { benches?: Bench[] };
    benches.push(...(mod.benches ?? []));
  }
  if (only) {
    const known = new Set(benches.flatMap((b) => [b.group, ...(b.name === undefined ? [] : [b.name])]));
    const unknown = [...only].filter((o) => !known.has(o));
    if (unknown.length > 0) {
      process.stderr.write(`bench: --only ${unknown.join(',')}: no such group or benchmark; there are ${[...new Set(benches.map((b) => b.group))].join(', ')}\n`);
      process.exit(2);
    }
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

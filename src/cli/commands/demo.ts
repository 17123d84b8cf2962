/**
 * `pvl demo`: fills a ledger through its public API with a small, realistic scenario so that a
 * newcomer sees every feature at once and `pvl audit` shows every verdict kind (spec/cli.md).
 * Creators and builders get fresh keys (saved under --out); work identifiers derive from --seed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { fetchVerifierKey, LedgerClient } from '../../client/index.js';
import { formatPrivateKey, generatePrivateKey, nobleSigner } from '../../note/index.js';
import {
  MAX_INLINE_ITEMS,
  formatKeyRef,
  formatRecordTime,
  type ConsentGrantRecord,
  type KeyRef,
  type RecordPayload,
  type TrainingUseRecord,
  type UseCategory,
  type UseItem,
  type WorkId,
} from '../../records/index.js';
import { type KeyFile, isInlineVerifierKey, writeSecretFile } from '../keys.js';
import { printJson, printTable, UsageError } from '../output.js';
import { submitRecord } from '../submit.js';
import { manifestStream, summarise } from './use.js';

export interface DemoOptions {
  server: string;
  vkey?: string;
  creators: number;
  works: number;
  uses: number;
  seed: string;
  out: string;
  json?: boolean;
}

interface Party extends KeyFile {
  name: string;
  file: string;
}

export interface DemoStep {
  index: number;
  type: RecordPayload['type'];
  what: string;
}

export interface DemoResult {
  server: string;
  out: string;
  seed: string;
  creators: Array<{ name: string; keyRef: KeyRef; keyFile: string }>;
  builders: Array<{ name: string; keyRef: KeyRef; keyFile: string }>;
  records: Record<string, number>;
  steps: DemoStep[];
}

/**
 * What each creator's main grant stipulates (creator i gets STIPULATIONS[i mod 6]), and the
 * verdict it earns for Acme's commercial model atlas@1.
 */
const STIPULATIONS = ['open, paid per use', 'non-commercial', 'licensed to Globex only', 'data mining only', 'models retired by 2025', 'expired in 2021'] as const;
const MIN_CREATORS = STIPULATIONS.length;

const ALL_CATEGORIES: UseCategory[] = ['ai_generative_training', 'ai_training', 'ai_inference', 'data_mining'];

function uses(allowed: UseCategory[]): ConsentGrantRecord['uses'] {
  const entry = (c: UseCategory) => ({ use: allowed.includes(c) ? ('allowed' as const) : ('notAllowed' as const) });
  return Object.fromEntries(ALL_CATEGORIES.map((c) => [c, entry(c)])) as ConsentGrantRecord['uses'];
}

/** Deterministic identifiers from the seed, so a run can be reproduced (keys stay random). */
function sha256Of(seed: string, label: string): WorkId {
  return `sha256:${createHash('sha256').update(`pvl-demo\n${seed}\n${label}`).digest('hex')}` as WorkId;
}
function phashOf(seed: string, label: string): string {
  return `phash:${createHash('sha256').update(`pvl-demo phash\n${seed}\n${label}`).digest('hex').slice(0, 16)}`;
}
/** The same perceptual code with its three lowest bits flipped: a near copy (distance 3). */
function nearCopyOf(phash: string): string {
  const code = BigInt('0x' + phash.slice(6)) ^ 7n;
  return `phash:${code.toString(16).padStart(16, '0')}`;
}

/** A small seeded generator (mulberry32) for the bulk uses. */
function rng(seed: string): () => number {
  let a = createHash('sha256').update(seed).digest().readUInt32LE(0);
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Demo {
  readonly steps: DemoStep[] = [];
  private vkey!: string;
  constructor(readonly opts: DemoOptions) {}

  /**
   * Now (± days), read at each record: the server refuses a claimed time further than its clock
   * skew from its clock (spec/api.md, clock-skew), however long the demo has been running.
   */
  time(offsetDays = 0): string {
    return formatRecordTime(new Date(Date.now() + offsetDays * 86_400_000));
  }

  async start(): Promise<void> {
    this.vkey = this.opts.vkey ?? (await fetchVerifierKey(this.opts.server));
    await mkdir(join(this.opts.out, 'proofs'), { recursive: true });
  }

  async party(name: string): Promise<Party> {
    const key = generatePrivateKey(name);
    const file = join(this.opts.out, `${name}.key`);
    await writeSecretFile(file, formatPrivateKey(key.name, key.seed) + '\n');
    return { name, file, key, signer: nobleSigner(key), keyRef: formatKeyRef(key.publicKey) };
  }

  /** Signs, submits (waiting for the checkpoint), verifies the proof; returns the log index. */
  async submit(by: Party, payload: RecordPayload, what: string): Promise<number> {
    const proofOut = join(this.opts.out, 'proofs', `${this.steps.length}.json`);
    const r = await submitRecord(this.opts.server, this.vkey, by, payload, proofOut);
    this.steps.push({ index: r.index, type: payload.type, what });
    process.stderr.write(`[${String(this.steps.length).padStart(3)}] ${payload.type.padEnd(18)} index ${String(r.index).padEnd(6)} ${what}\n`);
    return r.index;
  }

  grant(by: Party, works: string[][], terms: Partial<ConsentGrantRecord>): ConsentGrantRecord {
    return {
      type: 'consent-grant', v: 1, author: by.keyRef, time: this.time(),
      works: works as ConsentGrantRecord['works'],
      uses: uses(['ai_training', 'ai_generative_training']), commercial: true, licensees: 'anyone', validFrom: this.time(-1),
      ...terms,
    };
  }

  /** Uploads a manifest of `items` (written to a file under --out, streamed as `pvl use declare` does). */
  async uploadManifest(items: UseItem[], name: string): Promise<{ root: string; count: number }> {
    const file = join(this.opts.out, `${name}.jsonl`);
    await writeFile(file, items.map((i) => JSON.stringify(i)).join('\n') + '\n');
    const { root, count } = await summarise(file);
    const client = new LedgerClient(this.opts.server, { verifier: this.vkey });
    await client.request(`/manifests?root=${root}&count=${count}`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: manifestStream(file, count, () => {}),
      duplex: 'half',
    } as RequestInit);
    process.stderr.write(`      manifest ${root} (${count} items) uploaded\n`);
    return { root, count };
  }
}

/** The terms of creator i's main grant. */
function stipulation(i: number, licensee: KeyRef, name: string): Partial<ConsentGrantRecord> {
  switch (i % MIN_CREATORS) {
    case 0:
      return { compensation: { amount: '0.01', currency: 'EUR', basis: 'per-use', payee: name } };
    case 1:
      return { uses: uses(['ai_training']), commercial: false, validUntil: '2099-12-31T00:00:00Z' };
    case 2:
      return { uses: uses(['ai_training']), licensees: [licensee] };
    case 3:
      return { uses: uses(['data_mining']) };
    case 4:
      return { uses: uses(['ai_training']), validFrom: '2024-01-01T00:00:00Z', retireBy: '2025-01-01T00:00:00Z', compensation: { amount: '500', currency: 'USD', basis: 'flat', payee: name } };
    default:
      return { validFrom: '2020-01-01T00:00:00Z', validUntil: '2021-01-01T00:00:00Z' };
  }
}

function checkSizes(o: DemoOptions): void {
  if (!Number.isInteger(o.creators) || o.creators < MIN_CREATORS) throw new UsageError(`--creators must be an integer ≥ ${MIN_CREATORS} (one per kind of stipulation)`);
  if (!Number.isInteger(o.works) || o.works < 2) throw new UsageError('--works must be an integer ≥ 2 (one is withdrawn by a superseding grant)');
  if (!Number.isInteger(o.uses) || o.uses < 2) throw new UsageError('--uses must be an integer ≥ 2 (an inline use and a manifest use)');
  if (o.creators * o.works > 100_000) throw new UsageError('--creators × --works must be at most 100000');
}

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  checkSizes(opts);
  const demo = new Demo(opts);
  await demo.start();
  const seed = opts.seed;
  const creators: Party[] = [];
  for (let i = 0; i < opts.creators; i++) creators.push(await demo.party(`creator-${i}`));
  const acme = await demo.party('acme-ai');
  const globex = await demo.party('globex-labs');
  const works = creators.map((_, i) => Array.from({ length: opts.works }, (_, j) => sha256Of(seed, `creator ${i} work ${j}`)));

  // Creators introduce themselves and grant consent with varied stipulations.
  for (const [i, c] of creators.entries()) {
    await demo.submit(c, { type: 'creator', v: 1, author: c.keyRef, time: demo.time(), name: `Creator ${i}`, claims: { website: `https://creator-${i}.example` } }, `${c.name} registers`);
  }
  const grants: number[] = [];
  for (const [i, c] of creators.entries()) {
    const terms = stipulation(i, globex.keyRef, `Creator ${i}`);
    grants.push(await demo.submit(c, demo.grant(c, works[i].map((w) => [w]), terms), `${c.name} grants ${opts.works} works: ${STIPULATIONS[i % MIN_CREATORS]}`));
  }

  // The special cases: a photo with a perceptual code and a copycat grant of that code, a
  // dispute, a superseding grant that drops a work, a revoked grant.
  const [c0, c1, , c3, c4, c5] = creators;
  const photo = { sha: sha256Of(seed, 'photo'), phash: phashOf(seed, 'photo') };
  await demo.submit(c3, demo.grant(c3, [[photo.sha, photo.phash]], { uses: uses(['data_mining']) }), `${c3.name} grants a photo (with ${photo.phash}) for data mining only`);
  const copycat = await demo.submit(c4, demo.grant(c4, [[sha256Of(seed, 'copycat'), photo.phash]], {}), `${c4.name} grants a copy of ${c3.name}'s photo code`);
  await demo.submit(c5, demo.grant(c5, [[works[0][0]]], {}), `${c5.name} also claims ${c0.name}'s first work: disputed`);
  await demo.submit(c0, demo.grant(c0, works[0].slice(0, -1).map((w) => [w]), { supersedes: { index: grants[0] }, compensation: { amount: '0.02', currency: 'EUR', basis: 'per-use', payee: 'Creator 0' } }), `${c0.name} supersedes grant ${grants[0]}, dropping its last work`);
  const draftWork = sha256Of(seed, 'draft');
  const draft = await demo.submit(c1, demo.grant(c1, [[draftWork]], { commercial: true }), `${c1.name} grants a draft`);
  await demo.submit(c1, { type: 'consent-revocation', v: 1, author: c1.keyRef, time: demo.time(), grant: { index: draft }, effective: demo.time(-1), reason: 'changed my mind' }, `${c1.name} revokes grant ${draft}`);

  // Builders declare: Acme inline (commercial), Globex by manifest (non-commercial).
  const special: UseItem[] = [
    { work: [draftWork], consent: { index: draft } },
    { work: [sha256Of(seed, 'lookalike'), photo.phash] as WorkId[], consent: { index: copycat } },
    { work: [sha256Of(seed, 'near copy'), nearCopyOf(photo.phash)] as WorkId[], consent: { none: true } },
    { work: [sha256Of(seed, 'scraped')], consent: { none: true } },
  ];
  const own: UseItem[] = works.flatMap((ws, i) => ws.map((w) => ({ work: [w], consent: { index: grants[i] } })));
  const use = (by: Party, name: string, version: string, extra: Partial<TrainingUseRecord>): TrainingUseRecord =>
    ({ type: 'training-use', v: 1, author: by.keyRef, time: demo.time(), model: { name, version }, purpose: 'training', commercial: true, ...extra }) as TrainingUseRecord;
  const inline = [...special, ...own].slice(0, MAX_INLINE_ITEMS);
  await demo.submit(acme, use(acme, 'atlas', '1', { items: inline }), `acme-ai declares atlas@1 (commercial) with ${inline.length} inline items`);
  const manifest = await demo.uploadManifest([...special, ...own], 'bolt-2-items');
  await demo.submit(globex, use(globex, 'bolt', '2', { commercial: false, manifest }), `globex-labs declares bolt@2 (non-commercial) by manifest of ${manifest.count} items`);
  await bulkUses(demo, [acme, globex], own, opts.uses - 2, seed);

  // Lineage and a retirement.
  await demo.submit(acme, { type: 'model-lineage', v: 1, author: acme.keyRef, time: demo.time(), model: { name: 'atlas-chat', version: '1' }, parent: { builder: acme.keyRef, name: 'atlas', version: '1' }, relation: 'fine-tuning' } as RecordPayload, 'acme-ai derives atlas-chat@1 from atlas@1');
  await demo.submit(globex, { type: 'model-retirement', v: 1, author: globex.keyRef, time: demo.time(), model: { name: 'bolt', version: '2' }, status: 'retired', effective: demo.time(-1), statement: 'superseded by bolt@3' } as RecordPayload, 'globex-labs retires bolt@2');

  const records: Record<string, number> = {};
  for (const s of demo.steps) records[s.type] = (records[s.type] ?? 0) + 1;
  const party = (p: Party) => ({ name: p.name, keyRef: p.keyRef, keyFile: p.file });
  return { server: opts.server, out: opts.out, seed, creators: creators.map(party), builders: [acme, globex].map(party), records, steps: demo.steps };
}

/** Further inline uses by alternating builders over random works, purposes and commercial flags. */
async function bulkUses(demo: Demo, builders: Party[], own: UseItem[], n: number, seed: string): Promise<void> {
  const random = rng(seed);
  const purposes = ['training', 'generative-training', 'fine-tuning'] as const;
  for (let k = 0; k < n; k++) {
    const by = builders[k % builders.length];
    const count = Math.min(own.length, 1 + Math.floor(random() * 16));
    const start = Math.floor(random() * own.length);
    const items = Array.from({ length: count }, (_, j) => own[(start + j) % own.length]);
    const payload = { type: 'training-use', v: 1, author: by.keyRef, time: demo.time(), model: { name: `scout-${k}`, version: '1' }, purpose: purposes[k % 3], commercial: random() < 0.5, items } as TrainingUseRecord;
    await demo.submit(by, payload, `${by.name} declares scout-${k}@1 (${payload.purpose}${payload.commercial ? ', commercial' : ''}) with ${count} items`);
  }
}

/** --vkey inline or as a file holding it. */
async function vkeyText(arg: string): Promise<string> {
  return isInlineVerifierKey(arg) ? arg.trim() : (await readFile(arg, 'utf8')).trim();
}

const positiveInt = (v: string) => {
  if (!/^\d+$/.test(v)) throw new UsageError(`not a whole number: ${v}`);
  return Number(v);
};

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('fill a ledger with a realistic scenario (creators, grants, revocation, builders, manifests, lineage, retirement)')
    .option('--server <url>', 'ledger server URL', process.env.PVL_SERVER ?? 'http://127.0.0.1:8080')
    .option('--vkey <vkey>', 'log verifier key or file (default: fetched from /log/vkey)')
    .option('--creators <n>', `creators (≥ ${MIN_CREATORS})`, positiveInt, 8)
    .option('--works <n>', 'works per creator (≥ 2)', positiveInt, 3)
    .option('--uses <n>', 'training-use records (≥ 2)', positiveInt, 4)
    .option('--seed <s>', 'seed of the work identifiers (default random)')
    .option('--out <dir>', 'where keys, proofs and the manifest items go', 'pvl-demo')
    .option('--json', 'machine-readable output')
    .action(async (o: Omit<DemoOptions, 'seed'> & { seed?: string }) => {
      const result = await runDemo({ ...o, seed: o.seed ?? randomBytes(8).toString('hex'), vkey: o.vkey ? await vkeyText(o.vkey) : undefined });
      if (o.json) return printJson(result);
      printTable(['index', 'record', 'what'], result.steps.map((s) => [s.index, s.type, s.what]));
      console.log(`\n${result.steps.length} records (${Object.entries(result.records).map(([t, n]) => `${t} ${n}`).join(', ')}); keys and proofs in ${result.out}/, seed ${result.seed}`);
      console.log(`next: pvl audit --server ${result.server} --vkey <log vkey>   (every verdict kind appears)`);
    });
}

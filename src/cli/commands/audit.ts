/**
 * `pvl audit`: download the whole log via entry bundles, recompute the root, check consistency
 * with a saved checkpoint, verify every record signature, replay the consent policy and total
 * the verdicts.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { LedgerClient } from '../../client/index.js';
import { ConsentPolicy, type Judgement, type Verdict } from '../../policy/index.js';
import { type ParsedRecord, MANIFEST_ITEM_SIZE, formatKeyRef, decodeManifestItem, decodeRecord, type TrainingUseRecord, type UseItem } from '../../records/index.js';
import { type ManifestHashPool, manifestHashPool } from '../../platform/manifest-hash-pool.js';
import { verifyPool } from '../../platform/verify-pool.js';
import { loadCheckpoint, writeFileAtomic } from '../checkpoint-file.js';
import { readVerifierKey } from '../keys.js';
import { printJson, printTable, Progress, reportError, UsageError } from '../output.js';
import { SplitViewError, addTrustOptions, detectSplitViews, loadTrust } from '../evidence.js';
import { AuditReportCollector, printAuditReport, type AuditReport } from '../audit-report.js';
import { auditTlogOnly, printTlogAudit } from '../tlog-audit.js';
import { ClockAudit, type ClockAuditReport, printClockAudit } from '../clock-audit.js';
import type { IdentityEvidenceReport } from '../../identity/index.js';
import { type LevelCounts, checkIdentityEvidence, emptyLevelCounts, evidenceLines, loadIdentityTrust, noteCreator } from '../identity-trust.js';

interface AuditOpts {
  server: string;
  vkey: string;
  witness?: string[];
  quorum?: string;
  policy?: string;
  evidenceDir: string;
  witnessTimeout: number;
  since?: string;
  save?: string;
  manifestItemsMax: number;
  tlogOnly?: boolean;
  json?: boolean;
  /** The identity trust policy file (spec/policy.md, "Trust policy"). */
  trust?: string;
}

export interface AuditSummary {
  treeSize: number;
  records: Record<string, number>;
  invalidEntries: number;
  uses: number;
  itemsJudged: number;
  /** Items of uses declared by a builder key its next key reported stolen (spec/policy.md §2, Key lifecycle); absent if none. */
  compromisedKeyItems?: number;
  manifestItemsSkipped: number;
  /** With --trust, `consented` counts only items whose grant an identity the trust policy backs made; the rest are `consented-unverified`. */
  verdicts: Partial<Record<Verdict | 'consented-unverified', number>>;
  consistentWithSaved: boolean | null;
  /** With --trust: consented items by the identity level of their grant, and the evidence fetched. */
  identities?: { consented: LevelCounts; evidence: IdentityEvidenceReport[] };
  /** The trusted-time checks (spec/policy.md "The clock"); faults make the audit fail. */
  clock: ClockAuditReport;
}

export type AuditResult = AuditSummary & AuditReport;

/** Manifests of at least this many items get a progress bar. */
const SHOW_PROGRESS_FROM = 100_000;

/**
 * Judges every item of a manifest use: the whole manifest is downloaded and checked against the
 * record's root and count (hashed in worker threads) while its items are judged. The root is
 * known only at the end; if it does not match, the audit fails, so no verdict of an unverified
 * item is ever reported.
 */
async function judgeManifestUse(client: LedgerClient, policy: ConsentPolicy, index: number, record: TrainingUseRecord, now: Date, add: (item: UseItem, j: Judgement) => void, hashes: ManifestHashPool): Promise<void> {
  const manifest = record.manifest!;
  // Progress for the big ones only: a log of many small manifests would print a bar per use.
  const progress = manifest.count >= SHOW_PROGRESS_FROM ? new Progress(`manifest of use ${index}`, manifest.count, 'items') : undefined;
  const judgeItem = policy.manifestItemJudge(index, { now });
  let judged = 0;
  for await (const items of client.manifestItems(manifest, { batchHasher: hashes })) {
    for (let at = 0; at < items.length; at += MANIFEST_ITEM_SIZE) {
      const item = decodeManifestItem(items.subarray(at, at + MANIFEST_ITEM_SIZE));
      add(item, judgeItem(item));
    }
    progress?.update((judged += items.length / MANIFEST_ITEM_SIZE));
  }
  progress?.done(manifest.count);
}

export async function audit(opts: AuditOpts): Promise<AuditResult> {
  const identities = await loadIdentityTrust(opts.trust);
  const trust = await loadTrust(opts);
  const verifier = await readVerifierKey(trust.vkey);
  const client = new LedgerClient(opts.server, { verifier, policy: trust.policy });
  // The log's key tells the time: its clock records, and no one else's (spec/policy.md "The clock").
  const clockKey = formatKeyRef(verifier.publicKey);
  const clock = new ClockAudit(clockKey);
  const saved = opts.since ? [{ source: `saved ${opts.since}`, note: await readFile(opts.since, 'utf8') }] : [];
  await detectSplitViews(client, { server: opts.server, vkey: trust.vkey, witnessUrls: trust.witnessUrls, saved, evidenceDir: opts.evidenceDir, timeoutMs: opts.witnessTimeout });
  const latest = await client.checkpoint();
  let consistentWithSaved: boolean | null = null;
  if (opts.since) {
    await client.checkConsistency((await loadCheckpoint(client, opts.since)).checkpoint, latest.checkpoint);
    consistentWithSaved = true;
  }
  const policy = new ConsentPolicy({ ...(identities ? { trust: identities.view } : {}), clockKey });
  const summary: Omit<AuditSummary, 'clock'> = { treeSize: latest.checkpoint.size, records: {}, invalidEntries: 0, uses: 0, itemsJudged: 0, manifestItemsSkipped: 0, verdicts: {}, consistentWithSaved };
  const uses: Array<{ index: number; record: TrainingUseRecord }> = [];
  const progress = new Progress('downloading', latest.checkpoint.size, 'entries');
  const apply = (index: number, parsed: ParsedRecord) => {
    summary.records[parsed.payload.type] = (summary.records[parsed.payload.type] ?? 0) + 1;
    policy.apply(index, parsed);
    clock.record(index, parsed);
    noteCreator(identities, index, parsed);
    if (parsed.payload.type === 'training-use') uses.push({ index, record: parsed.payload });
  };
  // Signatures are checked in a worker, a bundle of entries at a time, while this thread keeps
  // downloading and decoding; records are applied to the policy in log order as batches return.
  const signatures = verifyPool();
  try {
    const batches: Array<{ entries: Array<{ index: number; decoded?: ReturnType<typeof decodeRecord> }>; verified: Promise<boolean[]> }> = [];
    const applyOldest = async () => {
      const { entries, verified } = batches.shift()!;
      const ok = await verified;
      let at = 0;
      for (const { index, decoded } of entries) {
        if (!decoded) {
          summary.invalidEntries++;
          continue;
        }
        const n = decoded.signatures.length;
        if (ok.slice(at, at + n).every(Boolean)) apply(index, decoded.record);
        else summary.invalidEntries++;
        at += n;
      }
    };
    let batch: Array<{ index: number; decoded?: ReturnType<typeof decodeRecord> }> = [];
    const send = () => {
      batches.push({ entries: batch, verified: signatures.verify(batch.flatMap((b) => b.decoded?.signatures ?? [])) });
      batch = [];
    };
    for await (const { index, entry } of client.entries(latest.checkpoint)) {
      let decoded: ReturnType<typeof decodeRecord> | undefined;
      try {
        decoded = decodeRecord(entry);
      } catch {
        decoded = undefined;
      }
      batch.push({ index, decoded });
      if (batch.length === 256) {
        send();
        if (batches.length > 4) await applyOldest();
      }
      progress.update(index + 1);
    }
    if (batch.length > 0) send();
    while (batches.length > 0) await applyOldest();
  } finally {
    await signatures.close();
  }
  progress.done(latest.checkpoint.size);
  // Only now is the root proven: fetch the identity evidence the trust policy asks for, and judge.
  const evidence = identities ? await checkIdentityEvidence(identities, policy) : [];
  const consentedBy = emptyLevelCounts();
  const now = new Date();
  const report = new AuditReportCollector(policy);
  let hashes: ManifestHashPool | undefined; // started at the first manifest use
  try {
    for (const { index, record } of uses) {
      summary.uses++;
      clock.use(policy.use(index)?.loggedAt);
      const add = (item: UseItem, j: Judgement) => {
        const tally = tallyName(j);
        summary.verdicts[tally] = (summary.verdicts[tally] ?? 0) + 1;
        if (j.verdict === 'consented' && j.identity) consentedBy[j.identity.level]++;
        summary.itemsJudged++;
        if (j.compromisedKey) summary.compromisedKeyItems = (summary.compromisedKeyItems ?? 0) + 1;
        report.add(index, record, item, j);
      };
      if (record.items) for (const j of policy.judgeUse(index, { now })) add(record.items[j.position], j);
      else if (record.manifest!.count <= opts.manifestItemsMax) await judgeManifestUse(client, policy, index, record, now, add, (hashes ??= manifestHashPool()));
      else summary.manifestItemsSkipped += record.manifest!.count;
    }
  } finally {
    await hashes?.close();
  }
  if (opts.save) await writeFileAtomic(opts.save, latest.note);
  if (identities) summary.identities = { consented: consentedBy, evidence };
  return { ...summary, clock: clock.finish(latest.checkpoint), ...report.finish() };
}

/** A consent from an identity the verifier's trust policy does not back is not reported as plain `consented`. */
function tallyName(j: Judgement): Verdict | 'consented-unverified' {
  return j.verdict === 'consented' && j.identity?.level === 'unverified' ? 'consented-unverified' : j.verdict;
}

/** --manifest-items-max: a whole number. */
function parseItemsMax(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new UsageError(`--manifest-items-max must be a whole number, got ${JSON.stringify(value)}`);
  return n;
}

export function registerAudit(program: Command): void {
  const cmd = program
    .command('audit')
    .description('download and verify the whole log, replay the consent policy, total the verdicts')
    .requiredOption('--server <url>', 'ledger server URL')
    .requiredOption('--vkey <vkey>', 'log verifier key or file');
  addTrustOptions(cmd)
    .option('--evidence-dir <dir>', 'where split-view evidence files are written', '.')
    .option('--witness-timeout <ms>', 'time each witness monitoring endpoint gets', (v) => Number(v), 3000)
    .option('--since <file>', 'saved checkpoint the log must be consistent with')
    .option('--save <file>', 'save the audited checkpoint here')
    .option('--manifest-items-max <n>', 'skip manifests of more items than this (default: judge every item)', parseItemsMax, Number.MAX_SAFE_INTEGER)
    .option('--tlog-only', 'audit any tlog-tiles log: tiles and entries only, no records')
    .option('--trust <file>', 'identity trust policy: the attesters you accept and the evidence to fetch (spec/policy.md)')
    .option('--json', 'machine-readable output')
    .action(async (opts: AuditOpts) => {
      if (opts.tlogOnly) return printTlogAudit(await auditTlogOnly(opts), opts.json === true);
      let s: AuditResult;
      try {
        s = await audit(opts);
      } catch (e) {
        if (!(e instanceof SplitViewError)) throw e;
        reportError(e);
        process.exitCode = 3;
        return;
      }
      // A clock that went back, or a checkpoint time that is not the log's clock, fails the audit.
      if (s.clock.faults.length > 0) process.exitCode = 1;
      if (opts.json) return printJson(s);
      console.log(`log of ${s.treeSize} entries: root recomputed and matches the signed checkpoint${s.consistentWithSaved ? '; consistent with the saved checkpoint' : ''}`);
      console.log(`records: ${Object.entries(s.records).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}; invalid entries: ${s.invalidEntries}`);
      printTable(['verdict', 'items'], Object.entries(s.verdicts).map(([k, v]) => [k, v as number]));
      if (s.manifestItemsSkipped) console.log(`${s.manifestItemsSkipped} manifest items not judged (over --manifest-items-max)`);
      if (s.compromisedKeyItems) console.log(`${s.compromisedKeyItems} items declared by builder keys reported stolen (their verdicts stand; see compromisedKey)`);
      if (s.identities) printIdentities(s.identities);
      printAuditReport(s);
      printClockAudit(s.clock);
    });
}

function printIdentities(identities: NonNullable<AuditSummary['identities']>): void {
  console.log('\nconsented items by who is behind the grant (your trust policy):');
  printTable(['identity level', 'items'], Object.entries(identities.consented).map(([level, n]) => [`consented & ${level}`, n]));
  const lines = evidenceLines(identities.evidence);
  if (lines.length > 0) console.log(`\nidentity evidence fetched:\n${lines.map((l) => `  ${l}`).join('\n')}`);
}

/**
 * `pvl witness serve`: a C2SP tlog-witness (spec/witness.md) for the logs given with --log,
 * cosigning with the key in --key (created, mode 0600, on first start). Prints the witness's
 * cosigner verifier key and the URL, then serves until SIGTERM/SIGINT.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { type Verifier, parseVerifierKey } from '../../note/index.js';
import { nodeEd25519Verify } from '../../platform/node-signer.js';
import { loadOrCreateWitnessKey, startWitnessServer } from '../../witness/server.js';
import { DEFAULT_WITNESS_CLOCK_SKEW_S, DEFAULT_WITNESS_TIME_AGE_S } from '../../witness/witness.js';
import { UsageError } from '../output.js';
import { untilStopSignal } from '../signals.js';

interface WitnessServeOptions {
  data: string;
  host: string;
  port: string;
  key?: string;
  name: string;
  log: string[];
  maxClockSkew?: string;
  maxTimeAge?: string;
}

/** A whole number of seconds ≥ 1 for `flag`, or the default when not given. */
function parseSeconds(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^[0-9]{1,9}$/.test(text) || Number(text) < 1) throw new UsageError(`${flag} must be a whole number of seconds ≥ 1, got ${JSON.stringify(text)}`);
  return Number(text);
}

function parsePort(text: string): number {
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) > 65535) throw new UsageError(`--port must be 0…65535, got ${text}`);
  return Number(text);
}

/** `ORIGIN=VKEY`, split at the first '=' (a vkey's base64 may end in '='); repeats add keys. */
export function parseLogOptions(values: string[]): Map<string, Verifier[]> {
  const logs = new Map<string, Verifier[]>();
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq <= 0) throw new UsageError(`--log must be ORIGIN=VKEY, got ${JSON.stringify(value)}`);
    const origin = value.slice(0, eq);
    let verifier: Verifier;
    try {
      verifier = parseVerifierKey(value.slice(eq + 1), nodeEd25519Verify);
    } catch (e) {
      throw new UsageError(`--log ${origin}: ${(e as Error).message}`);
    }
    logs.set(origin, [...(logs.get(origin) ?? []), verifier]);
  }
  if (logs.size === 0) throw new UsageError('give at least one --log ORIGIN=VKEY');
  return logs;
}

const collect = (value: string, previous: string[]) => [...previous, value];


export async function runWitnessServe(opts: WitnessServeOptions): Promise<void> {
  const port = parsePort(opts.port);
  const logs = parseLogOptions(opts.log);
  const maxClockSkewSeconds = parseSeconds(opts.maxClockSkew, '--max-clock-skew', DEFAULT_WITNESS_CLOCK_SKEW_S);
  const maxTimeAgeSeconds = parseSeconds(opts.maxTimeAge, '--max-time-age', DEFAULT_WITNESS_TIME_AGE_S);
  const { key, created } = await loadOrCreateWitnessKey(opts.key ?? join(opts.data, 'witness.key'), opts.name);
  const running = await startWitnessServer({ data: opts.data, key, logs, host: opts.host, port, maxClockSkewSeconds, maxTimeAgeSeconds });
  console.log(`${created ? 'created witness key; ' : ''}cosigner verifier key: ${running.witness.verifierKey}`);
  console.log(`listening on ${running.url}`);
  await untilStopSignal();
  await running.close();
}

export function registerWitness(program: Command): void {
  const witness = program.command('witness').description('run a C2SP tlog-witness (spec/witness.md)');
  witness
    .command('serve')
    .description('cosign checkpoints of the given logs that extend what this witness cosigned before')
    .option('--data <dir>', 'data directory (LevelDB state, default key file)', './witness-data')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 = any free port)', '8081')
    .option('--key <file>', 'witness private key file (created, mode 0600, if missing; default <data>/witness.key)')
    .option('--name <name>', 'witness name for a newly created key', 'localhost/witness')
    .option('--log <origin=vkey>', 'a trusted log: its origin and Ed25519 verifier key (repeatable)', collect, [])
    .option('--max-clock-skew <seconds>', `how far a checkpoint's pvl-time line may be ahead of this witness's clock (default ${DEFAULT_WITNESS_CLOCK_SKEW_S})`)
    .option('--max-time-age <seconds>', `how old the pvl-time line of a checkpoint that grew may be (default ${DEFAULT_WITNESS_TIME_AGE_S})`)
    .action(async (opts: WitnessServeOptions) => {
      await runWitnessServe(opts);
      process.exitCode = 0;
    });
}

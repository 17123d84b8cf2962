/**
 * Running a witness on Node: its key file, its LevelDB and the HTTP listener (used by
 * `pvl witness serve` and by tests that need a real witness process or port).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { type TransportLimits, createHttpServer } from '../server/transport.js';
import type { BodyPace } from '../server/body.js';
import { type PrivateKey, type Verifier, formatPrivateKey, generatePrivateKey, parsePrivateKey } from '../note/index.js';
import { nodeHasher } from '../platform/node-hasher.js';
import { nodeSigner } from '../platform/node-signer.js';
import { createWitnessApp } from './app.js';
import { WitnessState } from './state.js';
import { Witness } from './witness.js';

/** Reads the witness key (C2SP PRIVATE+KEY); creates it with mode 0600 if the file is missing. */
export async function loadOrCreateWitnessKey(path: string, name: string): Promise<{ key: PrivateKey; created: boolean }> {
  try {
    return { key: parsePrivateKey((await readFile(path, 'utf8')).trim()), created: false };
  } catch (e) {
    if ((e as { code?: string }).code !== 'ENOENT') throw e;
  }
  const key = generatePrivateKey(name);
  await mkdir(dirname(path), { recursive: true });
  // 'wx': never overwrite a key that appeared meanwhile.
  await writeFile(path, formatPrivateKey(key.name, key.seed) + '\n', { mode: 0o600, flag: 'wx' });
  return { key, created: true };
}

export interface WitnessServerOptions {
  /** Data directory; the LevelDB is <data>/witness-db. */
  data: string;
  key: PrivateKey;
  logs: Map<string, Verifier[]>;
  host?: string;
  /** 0 = any free port. */
  port?: number;
  now?: () => number;
  /** The time line checks (spec/witness.md "Time"), in seconds; defaults in witness.ts. */
  maxClockSkewSeconds?: number;
  maxTimeAgeSeconds?: number;
  /** Connection limits (spec/api.md "Connections"); default those of the ledger server. */
  transport?: Partial<TransportLimits>;
  /** Pace of request bodies; default that of the ledger server. */
  bodyPace?: BodyPace;
}

export interface RunningWitness {
  witness: Witness;
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startWitnessServer(opts: WitnessServerOptions): Promise<RunningWitness> {
  await mkdir(opts.data, { recursive: true });
  const state = await WitnessState.open(join(opts.data, 'witness-db'));
  const signer = nodeSigner(opts.key);
  const witness = new Witness({ key: opts.key, logs: opts.logs, state, hasher: nodeHasher, sign: (m) => signer.sign(m), now: opts.now, maxClockSkewSeconds: opts.maxClockSkewSeconds, maxTimeAgeSeconds: opts.maxTimeAgeSeconds });
  const app = createWitnessApp(witness, { bodyPace: opts.bodyPace });
  const host = opts.host ?? '127.0.0.1';
  const server: Server = createHttpServer(getRequestListener(app.fetch), opts.transport);
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve((server.address() as AddressInfo).port));
  }).catch(async (e) => {
    await state.close();
    throw e;
  });
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    witness,
    url: `http://${shownHost}:${port}`,
    port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await state.close();
    },
  };
}

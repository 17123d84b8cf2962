/**
 * The fetch client against a real witness listening on a port (startWitnessServer), and a silent
 * server for the timeout path; plus protocol round trips.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { Log } from '../../src/log/index.js';
import { cosignatureVerifier, generatePrivateKey, openCheckpoint, parseVerifierKey, verifierKeyOf } from '../../src/note/index.js';
import { nodeHasher } from '../../src/platform/node-hasher.js';
import { nodeSigner } from '../../src/platform/node-signer.js';
import { LevelLogStore } from '../../src/store/index.js';
import { fetchWitnessedCheckpoint, requestCosignature } from '../../src/witness/client.js';
import { WitnessConflictError, WitnessError } from '../../src/witness/errors.js';
import { formatAddCheckpointRequest, parseAddCheckpointRequest } from '../../src/witness/protocol.js';
import { loadOrCreateWitnessKey, startWitnessServer } from '../../src/witness/server.js';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../support/tmp.js';

const ORIGIN = 'test.example/client';
const logKey = generatePrivateKey(ORIGIN);
let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

describe('witness client', () => {
  it('gets a verifying cosignature, a typed 409 with the size, and reads the monitoring endpoint', async () => {
    const { dir, cleanup } = await tempDir('pvl-wclient-');
    cleanups.push(cleanup);
    const { key, created } = await loadOrCreateWitnessKey(join(dir, 'w', 'witness.key'), 'test.example/w1');
    expect(created).toBe(true);
    expect((await stat(join(dir, 'w', 'witness.key'))).mode & 0o777).toBe(0o600);
    expect((await loadOrCreateWitnessKey(join(dir, 'w', 'witness.key'), 'ignored')).key.publicKey).toEqual(key.publicKey);
    const w = await startWitnessServer({ data: join(dir, 'w'), key, logs: new Map([[ORIGIN, [parseVerifierKey(verifierKeyOf(logKey))]]]) });
    cleanups.push(w.close);
    const log = await Log.open(await LevelLogStore.open(join(dir, 'log')), { origin: ORIGIN, signer: nodeSigner(logKey), hasher: nodeHasher });
    cleanups.push(() => log.close());
    await log.append([1, 2, 3].map((i) => new TextEncoder().encode(`x${i}`)));
    const note = new TextDecoder().decode((await log.integrate())!.checkpoint.note);
    const lines = await requestCosignature(w.url + '/', { oldSize: 0, proof: [], checkpointNote: note }, 5000);
    const verifier = cosignatureVerifier(w.witness.verifierKey);
    expect(openCheckpoint(note + lines.join(''), parseVerifierKey(verifierKeyOf(logKey)), { extraVerifiers: [verifier] }).verified).toHaveLength(2);
    const err = await requestCosignature(w.url, { oldSize: 0, proof: [], checkpointNote: note }, 5000).catch((e) => e);
    expect(err).toBeInstanceOf(WitnessConflictError);
    expect(err.latestSize).toBe(3);
    expect(await fetchWitnessedCheckpoint(w.url, ORIGIN, 5000)).toContain(lines[0]);
    expect(await fetchWitnessedCheckpoint(w.url, 'nobody.example/log', 5000)).toBeUndefined();
  });

  it('times out on a witness that never answers', async () => {
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => { silent.closeAllConnections(); silent.close(() => r()); }));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const err = await requestCosignature(url, { oldSize: 0, proof: [], checkpointNote: 'x\n\n' }, 200).catch((e) => e);
    expect(err).toBeInstanceOf(WitnessError);
    expect(err.code).toBe('witness-timeout');
  });
});

describe('add-checkpoint body format', () => {
  it('round-trips and rejects proof lines with old size 0', () => {
    const hash = fc.uint8Array({ minLength: 32, maxLength: 32 });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 53 - 1 }), fc.array(hash, { maxLength: 63 }), fc.string(), (oldSize, proof, note) => {
        const parsed = parseAddCheckpointRequest(formatAddCheckpointRequest({ oldSize, proof, checkpointNote: note }));
        expect(parsed.oldSize).toBe(oldSize);
        expect(parsed.proof).toEqual(proof);
        expect(parsed.checkpointNote).toBe(note);
      }),
      { numRuns: 200 },
    );
    expect(() => parseAddCheckpointRequest(`old 0\n${'A'.repeat(43)}=\n\nx`)).toThrow(/empty/);
    expect(() => parseAddCheckpointRequest('old 01\n\nx')).toThrow(WitnessError);
    expect(() => parseAddCheckpointRequest(`old 5\n${`${'A'.repeat(43)}=\n`.repeat(64)}\nx`)).toThrow(/63/);
  });
});

/**
 * The witness's check of a checkpoint's `pvl-time` line (spec/witness.md "Time"): real logs
 * (src/log on LevelDB) whose time line the test sets, as a misbehaving log could, and the witness
 * over HTTP with its clock at a fixed second.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Log } from '../../src/log/index.js';
import { cosignatureVerifier, formatCosignerVerifierKey, generatePrivateKey, openCheckpoint, parseVerifierKey, verifierKeyOf } from '../../src/note/index.js';
import { nodeSigner } from '../../src/platform/node-signer.js';
import { nodeHasher } from '../../src/platform/node-hasher.js';
import { LevelLogStore } from '../../src/store/index.js';
import { createWitnessApp } from '../../src/witness/app.js';
import { formatAddCheckpointRequest } from '../../src/witness/protocol.js';
import { WitnessState } from '../../src/witness/state.js';
import { Witness } from '../../src/witness/witness.js';
import { tempDir } from '../support/tmp.js';

const ORIGIN = 'test.example/timed';
const logKey = generatePrivateKey(ORIGIN);
const witnessKey = generatePrivateKey('test.example/time-witness');
const NOW = 1_780_000_000; // the witness's clock, POSIX seconds
const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
const enc = new TextEncoder();
const dec = new TextDecoder();

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function freshDir(): Promise<string> {
  const { dir, cleanup } = await tempDir('pvl-witness-time-');
  cleanups.push(cleanup);
  return dir;
}

/** A log whose checkpoints carry `pvl-time <time.at>` (none while it is undefined). */
async function timedLog(time: { at?: number }) {
  const store = await LevelLogStore.open(await freshDir());
  const log = await Log.open(store, { origin: ORIGIN, signer: nodeSigner(logKey), hasher: nodeHasher, extensions: () => (time.at === undefined ? [] : [`pvl-time ${iso(time.at)}`]) });
  cleanups.push(() => log.close());
  let size = 0;
  /** Appends `count` entries, integrates, and returns the add-checkpoint body from the previous checkpoint's size. */
  const grow = async (count: number) => {
    const old = log.checkpoint.checkpoint.size;
    if (count > 0) await log.append(Array.from({ length: count }, () => enc.encode(`entry ${size++}`)));
    await log.integrate();
    const proof = old > 0 && log.checkpoint.checkpoint.size > old ? await log.consistencyProof(old) : [];
    return formatAddCheckpointRequest({ oldSize: old, proof, checkpointNote: dec.decode(log.checkpoint.note) });
  };
  return { log, grow };
}

async function witnessApp(opts: { maxClockSkewSeconds?: number; maxTimeAgeSeconds?: number } = {}) {
  const state = await WitnessState.open(await freshDir());
  cleanups.push(() => state.close());
  const witness = new Witness({ key: witnessKey, logs: new Map([[ORIGIN, [parseVerifierKey(verifierKeyOf(logKey))]]]), state, hasher: nodeHasher, now: () => NOW, ...opts });
  const app = createWitnessApp(witness);
  return (body: string) => app.request('/add-checkpoint', { method: 'POST', body });
}

describe('the witness checks the pvl-time line', () => {
  it('cosigns a time within the skew ahead and the age behind, the line included in what it signs', async () => {
    const time: { at?: number } = { at: NOW - 500 };
    const { log, grow } = await timedLog(time);
    const add = await witnessApp();
    expect((await add(await grow(1))).status).toBe(200);
    time.at = NOW + 200;
    const res = await add(await grow(3));
    expect(res.status).toBe(200);
    const line = await res.text();
    const note = dec.decode(log.checkpoint.note) + line;
    const opened = openCheckpoint(note, parseVerifierKey(verifierKeyOf(logKey)), { extraVerifiers: [cosignatureVerifier(formatCosignerVerifierKey(witnessKey.name, witnessKey.publicKey))] });
    expect(opened.checkpoint.extensions).toEqual([`pvl-time ${iso(NOW + 200)}`]);
    expect(opened.verified.map((s) => s.name)).toContain(witnessKey.name);
  });

  it('refuses a time further ahead of its clock than the skew', async () => {
    const { grow } = await timedLog({ at: NOW + 301 });
    const res = await (await witnessApp())(await grow(2));
    expect(res.status).toBe(422);
    const problem = (await res.json()) as { code: string; detail: string };
    expect(problem.code).toBe('bad-log-time');
    expect(problem.detail).toContain(`${iso(NOW + 301)} is 301 s ahead of this witness's clock`);
  });

  it('refuses a time before the one it cosigned last for the log', async () => {
    const time: { at?: number } = { at: NOW - 10 };
    const { grow } = await timedLog(time);
    const add = await witnessApp();
    expect((await add(await grow(2))).status).toBe(200);
    time.at = NOW - 11;
    const res = await add(await grow(1));
    expect(res.status).toBe(422);
    expect(((await res.json()) as { detail: string }).detail).toContain(`is before ${iso(NOW - 10)}, the time of the checkpoint cosigned at size 2`);
  });

  it('refuses a grown tree whose time is older than the maximum age (configurable)', async () => {
    const { grow } = await timedLog({ at: NOW - 120 });
    const add = await witnessApp({ maxTimeAgeSeconds: 60 });
    const res = await add(await grow(1));
    expect(res.status).toBe(422);
    expect(((await res.json()) as { detail: string }).detail).toContain(`its time ${iso(NOW - 120)} is 120 s behind this witness's clock`);
  });

  it('refuses to drop the time line once the log has published one', async () => {
    const time: { at?: number } = { at: NOW };
    const { grow } = await timedLog(time);
    const add = await witnessApp();
    expect((await add(await grow(1))).status).toBe(200);
    time.at = undefined;
    const res = await add(await grow(1));
    expect(res.status).toBe(422);
    expect(((await res.json()) as { detail: string }).detail).toContain('has no pvl-time line');
  });

  it('cosigns checkpoints without a time line from a log that never had one', async () => {
    const { grow } = await timedLog({});
    const add = await witnessApp();
    expect((await add(await grow(1))).status).toBe(200);
    expect((await add(await grow(1))).status).toBe(200);
  });
});

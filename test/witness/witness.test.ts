/**
 * The witness over HTTP (hono in-process) against real logs (src/log on LevelDB in temp dirs):
 * every add-checkpoint status, the rollback race, restart, forks, and cosignatures checked with
 * cosignatureVerifier.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Log } from '../../src/log/index.js';
import { cosignatureVerifier, generatePrivateKey, openCheckpoint, parseVerifierKey, verifierKeyOf } from '../../src/note/index.js';
import { nodeSigner } from '../../src/platform/node-signer.js';
import { nodeHasher } from '../../src/platform/node-hasher.js';
import { LevelLogStore } from '../../src/store/index.js';
import { createWitnessApp } from '../../src/witness/app.js';
import { formatAddCheckpointRequest } from '../../src/witness/protocol.js';
import { WitnessState } from '../../src/witness/state.js';
import { Witness } from '../../src/witness/witness.js';
import { tempDir } from '../support/tmp.js';

const ORIGIN = 'test.example/witnessed';
const logKey = generatePrivateKey(ORIGIN);
const witnessKey = generatePrivateKey('test.example/witness');
const enc = new TextEncoder();
const dec = new TextDecoder();

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function freshDir(): Promise<string> {
  const { dir, cleanup } = await tempDir('pvl-witness-');
  cleanups.push(cleanup);
  return dir;
}

async function openLog(key = logKey): Promise<Log> {
  const store = await LevelLogStore.open(await freshDir());
  const log = await Log.open(store, { origin: ORIGIN, signer: nodeSigner(key), hasher: nodeHasher });
  cleanups.push(() => log.close());
  return log;
}

/** Grows the log to `size` entries (prefix-labelled) and returns the signed checkpoint note. */
async function grow(log: Log, size: number, label = 'e'): Promise<string> {
  const n = Number(dec.decode(await currentNote(log)).split('\n')[1]);
  if (size > n) await log.append(Array.from({ length: size - n }, (_, i) => enc.encode(`${label}${n + i}`)));
  await log.integrate();
  return dec.decode(await currentNote(log));
}

async function currentNote(log: Log): Promise<Uint8Array> {
  return (log as unknown as { current: { note: Uint8Array } }).current.note;
}

async function openWitness(dir: string, now = () => 1_700_000_000) {
  const state = await WitnessState.open(dir);
  const witness = new Witness({ key: witnessKey, logs: new Map([[ORIGIN, [parseVerifierKey(verifierKeyOf(logKey))]]]), state, hasher: nodeHasher, now });
  return { witness, app: createWitnessApp(witness), close: () => state.close() };
}

async function post(app: ReturnType<typeof createWitnessApp>, body: string) {
  const res = await app.request('/add-checkpoint', { method: 'POST', body });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}

async function request(log: Log, oldSize: number, note: string): Promise<string> {
  const size = Number(note.split('\n')[1]);
  const proof = oldSize === 0 ? [] : await log.consistencyProof(oldSize, size);
  return formatAddCheckpointRequest({ oldSize, proof, checkpointNote: note });
}

describe('witness add-checkpoint', () => {
  it('cosigns a first checkpoint and its extension; the cosignature verifies', async () => {
    const log = await openLog();
    const w = await openWitness(await freshDir());
    cleanups.push(w.close);
    const note5 = await grow(log, 5);
    const r1 = await post(w.app, await request(log, 0, note5));
    expect(r1.status).toBe(200);
    const verifier = cosignatureVerifier(w.witness.verifierKey);
    const opened = openCheckpoint(note5 + r1.text, parseVerifierKey(verifierKeyOf(logKey)), { extraVerifiers: [verifier] });
    expect(opened.verified.map((s) => s.name)).toEqual([ORIGIN, witnessKey.name]);
    expect(verifier.timestampOf(opened.verified[1])).toBe(1_700_000_000);
    const note9 = await grow(log, 9);
    const r2 = await post(w.app, await request(log, 5, note9));
    expect(r2.status).toBe(200);
    // Monitoring endpoint serves the latest with the cosignature.
    const mon = await w.app.request('/checkpoints/' + encodeURIComponent(ORIGIN));
    expect(mon.status).toBe(200);
    const served = openCheckpoint(await mon.text(), parseVerifierKey(verifierKeyOf(logKey)), { extraVerifiers: [verifier] });
    expect(served.checkpoint.size).toBe(9);
    expect(served.verified).toHaveLength(2);
  });

  it('answers 400, 403, 404, 409 (text/x.tlog.size) and 422', async () => {
    const log = await openLog();
    const w = await openWitness(await freshDir());
    cleanups.push(w.close);
    const note4 = await grow(log, 4);
    expect((await post(w.app, 'garbage')).status).toBe(400);
    expect((await post(w.app, `old 7\n\n${note4}`)).status).toBe(400); // old > size
    const other = generatePrivateKey('other.example/log');
    const otherLog = await (async () => {
      const store = await LevelLogStore.open(await freshDir());
      const l = await Log.open(store, { origin: 'other.example/log', signer: nodeSigner(other), hasher: nodeHasher });
      cleanups.push(() => l.close());
      return l;
    })();
    const otherNote = dec.decode(await currentNote(otherLog));
    const r404 = await post(w.app, `old 0\n\n${otherNote}`);
    expect(r404.status).toBe(404);
    expect(r404.type).toContain('application/problem+json');
    // Same origin, signed by an untrusted key: 403.
    const impostor = await openLog(generatePrivateKey(ORIGIN));
    const fake = await grow(impostor, 4);
    expect((await post(w.app, `old 0\n\n${fake}`)).status).toBe(403);
    expect((await post(w.app, `old 0\n\n${note4}`)).status).toBe(200);
    const note6 = await grow(log, 6);
    const r409 = await post(w.app, await request(log, 2, note6));
    expect(r409).toMatchObject({ status: 409, type: 'text/x.tlog.size', text: '4\n' });
    const bad = await log.consistencyProof(4, 6);
    bad[0] = Uint8Array.from(bad[0]); // a copy: Buffer.slice would alias the log's cached hash
    bad[0][0] ^= 1;
    const r422 = await post(w.app, formatAddCheckpointRequest({ oldSize: 4, proof: bad, checkpointNote: note6 }));
    expect(r422.status).toBe(422);
    const ok = await post(w.app, await request(log, 4, note6));
    expect(ok.text).not.toContain("detail");
    expect(ok.status).toBe(200);
  });

  it('refuses a forked log (same key, different history) with 409 or 422', async () => {
    const log = await openLog();
    const fork = await openLog();
    const w = await openWitness(await freshDir());
    cleanups.push(w.close);
    expect((await post(w.app, await request(log, 0, await grow(log, 5)))).status).toBe(200);
    const forkNote5 = await grow(fork, 5, 'fork');
    const same = await post(w.app, `old 5\n\n${forkNote5}`);
    expect(same).toMatchObject({ status: 409, text: '5\n' });
    const forkNote8 = await grow(fork, 8, 'fork');
    const proof = await fork.consistencyProof(5, 8);
    expect((await post(w.app, formatAddCheckpointRequest({ oldSize: 5, proof, checkpointNote: forkNote8 }))).status).toBe(422);
  });

  it('never rolls back under concurrent requests, and keeps its state across a restart', async () => {
    const log = await openLog();
    const dir = await freshDir();
    const w = await openWitness(dir);
    const notes: Array<{ size: number; note: string }> = [];
    for (const size of [3, 6, 9, 12, 15, 18]) notes.push({ size, note: await grow(log, size) });
    expect((await post(w.app, `old 0\n\n${notes[0].note}`)).status).toBe(200);
    // Every request claims old size 3: exactly one can win; the rest see 409 with the new size.
    const bodies = await Promise.all(notes.slice(1).map(async (n) => formatAddCheckpointRequest({ oldSize: 3, proof: await log.consistencyProof(3, n.size), checkpointNote: n.note })));
    const results = await Promise.all(bodies.map((b) => post(w.app, b)));
    const winners = results.filter((r) => r.status === 200);
    expect(winners).toHaveLength(1);
    const winnerSize = notes.slice(1)[results.findIndex((r) => r.status === 200)].size;
    for (const r of results.filter((r) => r.status !== 200)) expect(r).toMatchObject({ status: 409, text: `${winnerSize}\n` });
    // The stored size is the only accepted one (so the max accepted), never an older loser's.
    const latest = await w.witness.latest(ORIGIN);
    expect(latest?.size).toBe(winnerSize);
    await w.close();
    const again = await openWitness(dir);
    cleanups.push(again.close);
    expect((await again.witness.latest(ORIGIN))?.size).toBe(winnerSize);
    const r = await post(again.app, await request(log, 0, notes[5].note));
    expect(r).toMatchObject({ status: 409, text: `${winnerSize}\n` });
  });
});

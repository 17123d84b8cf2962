/**
 * WitnessPublisher (src/witness/publisher.ts) with a real Log on LevelDB and real witnesses over
 * HTTP in this process (startWitnessServer). Published notes are checked with
 * openCheckpointWithPolicy, and witness state is read back from the witnesses' monitoring
 * endpoints.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Log } from '../../src/log/index.js';
import { generatePrivateKey, nobleSigner, openCheckpointWithPolicy, parseVerifierKey, simplePolicy, verifierKeyOf, type PrivateKey } from '../../src/note/index.js';
import { nodeHasher } from '../../src/platform/node-hasher.js';
import { LevelLogStore } from '../../src/store/index.js';
import { requestCosignature } from '../../src/witness/client.js';
import { WitnessPublisher, type WitnessConfig } from '../../src/witness/publisher.js';
import { startWitnessServer, type RunningWitness } from '../../src/witness/server.js';
import { formatCosignerVerifierKey } from '../../src/note/index.js';
import { tempDir } from '../support/tmp.js';

const ORIGIN = 'test.example/published';
const logKey = generatePrivateKey(ORIGIN);
const logVkey = verifierKeyOf(logKey);
const enc = new TextEncoder();
const dec = new TextDecoder();

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function dir(): Promise<string> {
  const t = await tempDir('pvl-publisher-');
  cleanups.push(t.cleanup);
  return t.dir;
}

async function openLog(): Promise<Log> {
  const log = await Log.open(await LevelLogStore.open(await dir()), { origin: ORIGIN, signer: nobleSigner(logKey), hasher: nodeHasher });
  cleanups.push(() => log.close());
  return log;
}

async function witness(name: string): Promise<{ running: RunningWitness; key: PrivateKey; config: WitnessConfig }> {
  const key = generatePrivateKey(`${name}.test.example`);
  const running = await startWitnessServer({ data: await dir(), key, logs: new Map([[ORIGIN, [parseVerifierKey(logVkey)]]]) });
  cleanups.push(() => running.close());
  return { running, key, config: { name, vkey: formatCosignerVerifierKey(key.name, key.publicKey), url: running.url } };
}

async function grow(log: Log, n: number, label = 'e'): Promise<void> {
  const size = log.checkpoint.checkpoint.size;
  await log.append(Array.from({ length: n }, (_, i) => enc.encode(`${label}${size + i}`)));
  await log.integrate();
}

/** Polls until `ready()` holds (the publisher works in the background). */
async function until(ready: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const publishedSize = (p: WitnessPublisher) => p.published()?.checkpoint.size ?? -1;

describe('WitnessPublisher', () => {
  it('publishes at the quorum, then adds the late cosignatures in witness order', async () => {
    const log = await openLog();
    const ws = [await witness('w1'), await witness('w2'), await witness('w3')];
    const publisher = new WitnessPublisher({ log, logVkey, witnesses: ws.map((w) => w.config), quorum: 2, timeoutMs: 2000 });
    cleanups.push(() => publisher.close());
    expect(publisher.published()).toBeUndefined();
    publisher.start();
    await grow(log, 5);
    await until(() => publishedSize(publisher) === 5 && publisher.status().every((s) => s.cosignedSize === 5));
    await until(() => dec.decode(publisher.published()!.note).split('\n').filter((l) => l.startsWith('\u2014')).length === 4);
    const note = dec.decode(publisher.published()!.note);
    const all = simplePolicy(logVkey, ws.map((w) => w.config.vkey), 3);
    const opened = openCheckpointWithPolicy(note, all);
    expect(opened.checkpoint.size).toBe(5);
    expect(opened.cosigners.map((c) => c.name)).toEqual(ws.map((w) => w.key.name));
    // Lines follow the log's signature in --witness order.
    const names = note.split('\n').filter((l) => l.startsWith('\u2014')).map((l) => l.split(' ')[1]);
    expect(names).toEqual([ORIGIN, ...ws.map((w) => w.key.name)]);
    expect(publisher.status()).toEqual(ws.map((w) => ({ name: w.config.name, up: true, cosignedSize: 5 })));
    // What each witness now serves is that checkpoint.
    const served = await (await fetch(`${ws[0].running.url}/checkpoints/${encodeURIComponent(ORIGIN)}`)).text();
    expect(served.split('\n')[1]).toBe('5');
  });

  it('retries once from the size a 409 reports (a witness that cosigned before this process started)', async () => {
    const log = await openLog();
    const w = await witness('w1');
    await grow(log, 3);
    // An earlier run of the server got size 3 cosigned.
    await requestCosignature(w.config.url, { oldSize: 0, proof: [], checkpointNote: dec.decode(log.checkpoint.note) }, 2000);
    await grow(log, 4);
    const sent: number[] = [];
    const request: typeof requestCosignature = (url, req, t) => {
      sent.push(req.oldSize);
      return requestCosignature(url, req, t);
    };
    const publisher = new WitnessPublisher({ log, logVkey, witnesses: [w.config], quorum: 1, timeoutMs: 2000, request });
    cleanups.push(() => publisher.close());
    publisher.start();
    await until(() => publishedSize(publisher) === 7);
    expect(sent).toEqual([0, 3]);
    await grow(log, 1);
    await until(() => publishedSize(publisher) === 8);
    expect(sent).toEqual([0, 3, 7]);
  });

  it('publishes nothing without a quorum of valid cosignatures, and wait=checkpoint gives up', async () => {
    const log = await openLog();
    const w = await witness('w1');
    // Configured with a key the witness does not hold: its (valid) cosignatures do not count.
    const impostor = generatePrivateKey(w.key.name);
    const wrong = { ...w.config, vkey: formatCosignerVerifierKey(impostor.name, impostor.publicKey) };
    const publisher = new WitnessPublisher({ log, logVkey, witnesses: [wrong], quorum: 1, timeoutMs: 2000 });
    cleanups.push(() => publisher.close());
    publisher.start();
    await grow(log, 2);
    const waited = publisher.waitFor(1, 300);
    await expect(waited).rejects.toMatchObject({ code: 'not-witnessed' });
    expect(publisher.published()).toBeUndefined();
    expect(publisher.status()).toEqual([{ name: 'w1', up: true, cosignedSize: 0 }]);
  });

  it('a fork is refused by the witnesses: nothing is published and the witness stays on the honest size', async () => {
    const honest = await openLog();
    const w = await witness('w1');
    const honestPublisher = new WitnessPublisher({ log: honest, logVkey, witnesses: [w.config], quorum: 1, timeoutMs: 2000 });
    honestPublisher.start();
    await grow(honest, 4, 'honest');
    await until(() => publishedSize(honestPublisher) === 4);
    await honestPublisher.close();

    const fork = await openLog();
    await grow(fork, 6, 'fork');
    const forkPublisher = new WitnessPublisher({ log: fork, logVkey, witnesses: [w.config], quorum: 1, timeoutMs: 2000 });
    cleanups.push(() => forkPublisher.close());
    forkPublisher.start();
    await expect(forkPublisher.waitFor(0, 500)).rejects.toMatchObject({ code: 'not-witnessed' });
    expect(forkPublisher.status()).toEqual([{ name: 'w1', up: true, cosignedSize: 0 }]);
    const served = await (await fetch(`${w.running.url}/checkpoints/${encodeURIComponent(ORIGIN)}`)).text();
    expect(served.split('\n')[1]).toBe('4');
  });

  it('marks an unreachable witness down and publishes with the others', async () => {
    const log = await openLog();
    const w = await witness('w1');
    const dead = { name: 'dead', vkey: w.config.vkey, url: 'http://127.0.0.1:9' };
    const publisher = new WitnessPublisher({ log, logVkey, witnesses: [w.config, dead], quorum: 1, timeoutMs: 1000 });
    cleanups.push(() => publisher.close());
    publisher.start();
    await grow(log, 2);
    await until(() => publishedSize(publisher) === 2 && publisher.status()[1].up === false);
    expect(publisher.status()).toEqual([
      { name: 'w1', up: true, cosignedSize: 2 },
      { name: 'dead', up: false, cosignedSize: 0 },
    ]);
    expect(() => new WitnessPublisher({ log, logVkey, witnesses: [w.config], quorum: 2, timeoutMs: 1000 })).toThrow(expect.objectContaining({ code: 'bad-quorum' }));
  });
});

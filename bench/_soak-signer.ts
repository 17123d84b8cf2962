/**
 * The soak's submissions (bench/_soak.ts): batches of distinct consent grants by a pool of
 * writers, batch k holding records k·size … k·size + size − 1. They are signed either just in
 * time or all before the clock starts, in worker threads: on a two-core machine the load
 * generator's signing (~40 µs a record) would otherwise take a quarter of a core from the
 * server it measures. This module is also the worker's script.
 */
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { PrivateKey } from '../src/note/index.js';
import { RECORD_PAYLOAD_TYPE, preAuthEncoding, toBase64 } from '../src/records/index.js';
import { canonicalJson } from '../src/records/canonical.js';
import { type Author, authorOf, grantPayload, recordNow, workOf } from './_records.js';

/**
 * Consent grants like grantEntry's, signed without grantEntry's schema validation and
 * self-verification: the generator shares two cores with the server and must stay cheap. The
 * payload is grantPayload's canonical JSON with the author and work filled into a template made
 * once by the project's own serialiser (a wrong byte would be refused by the server and counted
 * as a failure). Only the signature costs real work. The server validates every record anyway.
 * Each record claims the time it is signed at: signed just in time, that is within the server's
 * clock skew (spec/api.md, clock-skew); signed ahead, the server must be started with a skew
 * as long as the run (bench/_soak.ts does).
 */
export function grantSigner(authors: Author[]): (n: number) => string {
  const AUTHOR = '@@author@@';
  const WORK = '@@work@@';
  const TIME = '@@time@@';
  // grantPayload makes even grants commercial: one template for each.
  const templates = [0, 1].map((parity) => {
    const payload = { ...grantPayload(authors, parity), author: AUTHOR, works: [[WORK]], time: TIME };
    return canonicalJson(payload).split(/(@@author@@|@@work@@|@@time@@)/);
  });
  const encoder = new TextEncoder();
  return (n) => {
    const author = authors[n % authors.length];
    const time = recordNow();
    const parts = templates[n % 2].map((part) => (part === AUTHOR ? author.ref : part === WORK ? workOf(`soak ${n}`) : part === TIME ? time : part));
    const bytes = encoder.encode(parts.join(''));
    const sig = author.signer.sign(preAuthEncoding(RECORD_PAYLOAD_TYPE, bytes));
    return `{"payload":"${toBase64(bytes)}","payloadType":"${RECORD_PAYLOAD_TYPE}","signatures":[{"keyid":"${author.ref}","sig":"${toBase64(sig)}"}]}`;
  };
}

/** The JSON body of batch k: a JSON array of `size` signed records. */
export function batchBody(grant: (n: number) => string, k: number, size: number): string {
  const entries: string[] = [];
  for (let i = 0; i < size; i++) entries.push(grant(k * size + i));
  return `[${entries.join(',')}]`;
}

interface SignerJob {
  role: 'soak-signer';
  keys: PrivateKey[];
  first: number;
  end: number;
  size: number;
}

/** Batches sent back to the main thread per message, concatenated in one transferred buffer. */
const BATCHES_PER_MESSAGE = 250;

interface SignedChunk {
  first: number;
  bytes: Uint8Array;
  ends: number[];
}

/**
 * Bodies of batches 0 … count − 1 signed by `authors`, in worker threads; `onProgress` gets the
 * number signed so far. Held as Buffers outside the JavaScript heap (~0.7 KB a record).
 */
export async function presignBatches(authors: Author[], count: number, size: number, onProgress: (done: number) => void): Promise<Buffer[]> {
  const bodies: Buffer[] = new Array(count);
  const threads = Math.max(1, availableParallelism());
  const share = Math.ceil(count / threads);
  let done = 0;
  const runs = Array.from({ length: threads }, (_, t) => {
    const job: SignerJob = { role: 'soak-signer', keys: authors.map((a) => a.key), first: t * share, end: Math.min(count, (t + 1) * share), size };
    return new Promise<void>((resolve, reject) => {
      const worker = new Worker(new URL(import.meta.url), { workerData: job });
      worker.on('message', ({ first, bytes, ends }: SignedChunk) => {
        const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        let start = 0;
        ends.forEach((end, i) => {
          bodies[first + i] = buffer.subarray(start, end);
          start = end;
        });
        done += ends.length;
        onProgress(done);
      });
      worker.once('error', reject);
      worker.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`signing worker exited with code ${code}`))));
    });
  });
  await Promise.all(runs);
  return bodies;
}

function signInWorker(job: SignerJob): void {
  const grant = grantSigner(job.keys.map(authorOf));
  const encoder = new TextEncoder();
  for (let first = job.first; first < job.end; first += BATCHES_PER_MESSAGE) {
    const texts: Uint8Array[] = [];
    for (let k = first; k < Math.min(job.end, first + BATCHES_PER_MESSAGE); k++) texts.push(encoder.encode(batchBody(grant, k, job.size)));
    const bytes = new Uint8Array(texts.reduce((n, t) => n + t.length, 0));
    const ends: number[] = [];
    let at = 0;
    for (const text of texts) {
      bytes.set(text, at);
      at += text.length;
      ends.push(at);
    }
    const chunk: SignedChunk = { first, bytes, ends };
    parentPort!.postMessage(chunk, [bytes.buffer]);
  }
}

if (!isMainThread && (workerData as SignerJob | undefined)?.role === 'soak-signer') signInWorker(workerData as SignerJob);

/** Valid signed records in bulk for load and crash tests: distinct consent grants by a pool of creators. */
import { createHash } from 'node:crypto';
import { nodeEd25519Verify, nodeSigner } from '../src/platform/node-signer.js';
import { type PrivateKey, type Signer, generatePrivateKey } from '../src/note/index.js';
import { type ConsentGrantRecord, type KeyRef, formatKeyRef, formatRecordTime, signRecord } from '../src/records/index.js';

export interface Author {
  key: PrivateKey;
  signer: Signer;
  ref: KeyRef;
}

export function makeAuthors(count: number, prefix = 'creator'): Author[] {
  return Array.from({ length: count }, (_, i) => authorOf(generatePrivateKey(`${prefix}-${i}`)));
}

/** The author signing with `key` (how a worker thread rebuilds authors from their keys). */
export function authorOf(key: PrivateKey): Author {
  return { key, signer: nodeSigner(key), ref: formatKeyRef(key.publicKey) };
}

/**
 * The current time as a record time: what records sent to `pvl serve` must claim, within its
 * clock skew (spec/api.md, clock-skew).
 */
export const recordNow = () => formatRecordTime(new Date());

export const workOf = (label: string) => `sha256:${createHash('sha256').update(`work ${label}`).digest('hex')}` as const;

/** A consent grant for work `label` by one of `authors`; distinct labels give distinct entries. */
export function grantEntry(authors: Author[], n: number, label = String(n)): Uint8Array {
  return signRecord(grantPayload(authors, n, label), authors[n % authors.length].signer, { verify: nodeEd25519Verify });
}

/** The payload grantEntry signs, claiming `time` (default: now). */
export function grantPayload(authors: Author[], n: number, label = String(n), time = recordNow()): ConsentGrantRecord {
  const author = authors[n % authors.length];
  return {
    type: 'consent-grant',
    v: 1,
    author: author.ref,
    time,
    works: [[workOf(label)]] as ConsentGrantRecord['works'],
    uses: { ai_generative_training: { use: 'allowed' }, ai_training: { use: 'allowed' }, ai_inference: { use: 'notAllowed' }, data_mining: { use: 'allowed' } },
    commercial: n % 2 === 0,
    licensees: 'anyone',
    validFrom: '2025-01-01T00:00:00Z',
  };
}

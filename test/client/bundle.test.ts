import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { LedgerClient, verifyBundle, verifyTlogProof, type ProofBundle } from '../../src/client/index.js';
import { MemoryTree } from '../../src/merkle/index.js';
import { formatVerifierKey, generatePrivateKey, nobleSigner, parseVerifierKey, signCheckpoint, verifierKeyOf } from '../../src/note/index.js';
import { encodeManifestItem, formatKeyRef, manifestTree, signRecord, toHex, type TrainingUseRecord, type UseItem } from '../../src/records/index.js';

// Independent RFC 6962 leaf hash via node:crypto (not the project's hasher).
const leafHash = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(Buffer.from([0])).update(b).digest());
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const workOf = (i: number) => `sha256:${createHash('sha256').update(`work ${i}`).digest('hex')}` as const;

const logKey = generatePrivateKey('example.org/log');
const logVerifier = parseVerifierKey(verifierKeyOf(logKey));
const builder = generatePrivateKey('builder');

function makeLog(manifestItems: UseItem[]) {
  const mtree = manifestTree(manifestItems.map((it) => encodeManifestItem(it)));
  const record: TrainingUseRecord = {
    type: 'training-use', v: 1, author: formatKeyRef(builder.publicKey), time: '2026-11-23T05:00:00Z',
    model: { name: 'm', version: '1' }, purpose: 'training', commercial: false,
    manifest: { root: toHex(mtree.root()), count: manifestItems.length },
  };
  const entry = signRecord(record, nobleSigner(builder));
  const tree = new MemoryTree();
  const fillers = [0, 1, 2].map((i) => new TextEncoder().encode(`filler ${i}`));
  for (const f of fillers) tree.append(leafHash(f));
  tree.append(leafHash(entry));
  tree.append(leafHash(new TextEncoder().encode('after')));
  const checkpoint = signCheckpoint({ origin: logKey.name, size: tree.size, rootHash: tree.root(), extensions: [] }, nobleSigner(logKey));
  return { mtree, entry, tree, checkpoint, index: 3 };
}

function makeBundle(position = 1): ProofBundle {
  const items: UseItem[] = [0, 1, 2, 3, 4].map((i) => ({ work: [workOf(i)], consent: { none: true } }));
  const { mtree, entry, tree, checkpoint, index } = makeLog(items);
  return {
    type: 'pvl.proof-bundle/v1', origin: logKey.name, checkpoint,
    log: { index, entry: b64(entry), inclusionProof: tree.inclusionProof(index).map(b64) },
    manifest: { root: toHex(mtree.root()), count: items.length, position, item: b64(encodeManifestItem(items[position])), proof: mtree.inclusionProof(position).map(b64) },
    work: workOf(position),
  };
}

const clone = (b: ProofBundle): ProofBundle => JSON.parse(JSON.stringify(b));
const flipB64 = (s: string) => { const b = Buffer.from(s, 'base64'); b[b.length - 1] ^= 1; return b.toString('base64'); };

describe('verifyBundle', () => {
  it('accepts a well-formed bundle and returns the proven item', () => {
    const v = verifyBundle(makeBundle(2), logVerifier);
    expect(v.verified).toBe(true);
    expect(v.value.index).toBe(3);
    expect(v.value.item.work).toEqual([workOf(2)]);
    expect(v.checkpoint.size).toBe(5);
  });

  it.each([
    ['checkpoint signature', (b: ProofBundle) => { b.checkpoint = b.checkpoint.replace(/\n5\n/, '\n6\n'); }, /step 1/],
    ['checkpoint by another key', (b: ProofBundle) => { b.checkpoint = signCheckpoint({ origin: logKey.name, size: 5, rootHash: new Uint8Array(32), extensions: [] }, nobleSigner(generatePrivateKey(logKey.name))); }, /step 1/],
    ['log entry', (b: ProofBundle) => { b.log.entry = flipB64(b.log.entry); }, /step [23]/],
    ['inclusion proof', (b: ProofBundle) => { b.log.inclusionProof[0] = flipB64(b.log.inclusionProof[0]); }, /step 2/],
    ['log index', (b: ProofBundle) => { b.log.index = 2; }, /step 2/],
    ['manifest item', (b: ProofBundle) => { b.manifest!.item = b64(encodeManifestItem({ work: [workOf(9)], consent: { none: true } })); b.work = workOf(9); }, /step 4/],
    ['manifest proof', (b: ProofBundle) => { b.manifest!.proof[0] = flipB64(b.manifest!.proof[0]); }, /step 4/],
    ['manifest position', (b: ProofBundle) => { b.manifest!.position = 0; }, /step 4/],
    ['manifest root', (b: ProofBundle) => { b.manifest!.root = '00'.repeat(32); }, /step 4/],
    ['work', (b: ProofBundle) => { b.work = workOf(3); }, /step 5/],
  ])('rejects a tampered %s', (_name, tamper, step) => {
    const b = clone(makeBundle(1));
    tamper(b);
    expect(() => verifyBundle(b, logVerifier)).toThrow(step);
  });

  it('rejects a bundle checked against a different log key', () => {
    const other = generatePrivateKey(logKey.name);
    expect(() => verifyBundle(makeBundle(0), parseVerifierKey(formatVerifierKey(other.name, other.publicKey)))).toThrow(/step 1/);
  });
});

describe('LedgerClient.openCheckpoint', () => {
  const client = new LedgerClient('http://127.0.0.1:1', { verifier: verifierKeyOf(logKey) });
  it('opens a checkpoint signed by the log key and rejects an edited one', () => {
    const { checkpoint } = makeLog([{ work: [workOf(0)], consent: { none: true } }]);
    expect(client.openCheckpoint(checkpoint).checkpoint.size).toBe(5);
    expect(() => client.openCheckpoint(checkpoint.replace(/\n5\n/, '\n4\n'))).toThrow();
  });
});

describe('verifyTlogProof', () => {
  it('accepts the C2SP proof of an entry and rejects other leaves', () => {
    const { entry, tree, checkpoint, index } = makeLog([{ work: [workOf(0)], consent: { none: true } }]);
    const text = `c2sp.org/tlog-proof@v1\nindex ${index}\n${tree.inclusionProof(index).map(b64).join('\n')}\n\n${checkpoint}`;
    expect(verifyTlogProof(text, leafHash(entry), logVerifier).index).toBe(3);
    expect(() => verifyTlogProof(text, leafHash(new Uint8Array([1])), logVerifier)).toThrow();
    expect(() => verifyTlogProof(text.replace(`index ${index}`, 'index 2'), leafHash(entry), logVerifier)).toThrow();
  });
});

describe('verifyBundle with inline items', () => {
  function inlineBundle(work: string): ProofBundle {
    const record: TrainingUseRecord = {
      type: 'training-use', v: 1, author: formatKeyRef(builder.publicKey), time: '2026-11-23T05:00:00Z',
      model: { name: 'm', version: '2' }, purpose: 'training', commercial: false,
      items: [0, 1, 2].map((i) => ({ work: [workOf(i)], consent: { none: true } })),
    };
    const entry = signRecord(record, nobleSigner(builder));
    const tree = new MemoryTree();
    tree.append(leafHash(new TextEncoder().encode('x')));
    tree.append(leafHash(entry));
    const checkpoint = signCheckpoint({ origin: logKey.name, size: 2, rootHash: tree.root(), extensions: [] }, nobleSigner(logKey));
    return { type: 'pvl.proof-bundle/v1', origin: logKey.name, checkpoint, log: { index: 1, entry: b64(entry), inclusionProof: tree.inclusionProof(1).map(b64) }, manifest: null, work };
  }
  it('finds the inline item naming the work, and rejects a work not in the record', () => {
    expect(verifyBundle(inlineBundle(workOf(2)), logVerifier).value.item.work).toEqual([workOf(2)]);
    expect(() => verifyBundle(inlineBundle(workOf(7)), logVerifier)).toThrow(/step 5/);
  });
});

/**
 * Interop vectors: the tlog-tiles log in test/vectors/tiled-log (written by another
 * implementation) and the keys and notes of Go's golang.org/x/mod/sumdb/note documentation.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import {
  KEY_TYPE_ED25519,
  formatCheckpoint,
  formatPrivateKey,
  keyId,
  nobleEd25519Verify,
  nobleSigner,
  openCheckpoint,
  openNote,
  parseCheckpoint,
  parseNote,
  parsePrivateKey,
  parseVerifierKey,
  signCheckpoint,
  signNote,
  verifierKeyOf,
} from '../../src/note/index.js';
import { nodeEd25519Verify, nodeSigner } from '../../src/platform/node-signer.js';

const VECTORS = join(import.meta.dirname, '..', 'vectors', 'tiled-log');
const ORIGIN = 'example.com/log/testdata';
const VKEY = 'example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx';
const SKEY = 'PRIVATE+KEY+example.com/log/testdata+33d7b496+AeymY/SZAX0jZcJ8enZ5FY1Dz+wTML2yWSkK+9DSF3eg';
const WORDS = 'one two three four five six seven eit nain ten ileven twelf threeten fourten fivten'.split(' ');

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const files = [...Array.from({ length: 16 }, (_, n) => [`checkpoint.${n}`, n] as const), ['checkpoint', 15] as const];
const read = (name: string) => new Uint8Array(readFileSync(join(VECTORS, name)));

describe('tiled-log vector key', () => {
  it('private key string round-trips and gives the vector vkey and key ID', () => {
    const key = parsePrivateKey(SKEY);
    expect(key.name).toBe(ORIGIN);
    expect(hex(key.keyId)).toBe('33d7b496');
    expect(hex(keyId(ORIGIN, KEY_TYPE_ED25519, key.publicKey))).toBe('33d7b496');
    expect(verifierKeyOf(key)).toBe(VKEY);
    expect(formatPrivateKey(key.name, key.seed)).toBe(SKEY);
    const v = parseVerifierKey(VKEY);
    expect(v.name).toBe(ORIGIN);
    expect(v.type).toBe(KEY_TYPE_ED25519);
    expect(hex(v.keyId)).toBe('33d7b496');
    expect(hex(v.publicKey)).toBe(hex(key.publicKey));
  });
});

describe.each(files)('tiled-log %s', (file, size) => {
  const bytes = read(file);
  const noteText = Buffer.from(bytes).toString('utf8');
  const key = parsePrivateKey(SKEY);

  it('opens with the vector key (noble and OpenSSL verifiers, string and bytes)', () => {
    for (const verify of [nobleEd25519Verify, nodeEd25519Verify]) {
      const v = parseVerifierKey(VKEY, verify);
      for (const input of [bytes, noteText]) {
        const opened = openCheckpoint(input, v);
        expect(opened.checkpoint.origin).toBe(ORIGIN);
        expect(opened.checkpoint.size).toBe(size);
        expect(opened.checkpoint.extensions).toEqual([]);
        expect(opened.note).toBe(noteText);
        expect(opened.verified).toHaveLength(1);
        expect(opened.verified[0].name).toBe(ORIGIN);
        expect(hex(opened.verified[0].keyId)).toBe('33d7b496');
      }
    }
  });

  it('formats back to the exact text', () => {
    const { text } = parseNote(bytes);
    expect(formatCheckpoint(parseCheckpoint(text))).toBe(text);
  });

  it('re-signing reproduces the exact note (noble and node:crypto signers)', () => {
    const checkpoint = parseCheckpoint(parseNote(bytes).text);
    expect(signCheckpoint(checkpoint, nobleSigner(key))).toBe(noteText);
    expect(signCheckpoint(checkpoint, nodeSigner(key))).toBe(noteText);
  });

  it('has the RFC 6962 root of the vector entries', () => {
    const root = parseCheckpoint(parseNote(bytes).text).rootHash;
    if (size === 0) expect(hex(root)).toBe(hex(sha256(new Uint8Array(0))));
    if (size === 1) expect(hex(root)).toBe(hex(sha256(Buffer.concat([Buffer.of(0), Buffer.from(WORDS[0])]))));
    expect(root).toHaveLength(32);
  });
});

// From the package documentation and tests of golang.org/x/mod/sumdb/note.
describe('Go sumdb/note vectors', () => {
  const peterSkey = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
  const peterVkey = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
  const enochVkey = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
  const text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
  const peterSig = '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
  const enochSig = '— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';

  it('signs exactly as Go does', () => {
    const key = parsePrivateKey(peterSkey);
    expect(verifierKeyOf(key)).toBe(peterVkey);
    expect(signNote(text, [nobleSigner(key)])).toBe(text + '\n' + peterSig);
    expect(signNote(text, [nodeSigner(key)])).toBe(text + '\n' + peterSig);
  });

  it('opens the doubly-signed note with either or both keys', () => {
    const note = text + '\n' + peterSig + enochSig;
    const peter = parseVerifierKey(peterVkey);
    const enoch = parseVerifierKey(enochVkey, nodeEd25519Verify);
    const one = openNote(note, [peter]);
    expect(one.text).toBe(text);
    expect(one.verified.map((s) => s.line)).toEqual([peterSig]);
    expect(one.unknown.map((s) => s.line)).toEqual([enochSig]);
    const both = openNote(note, [peter, enoch]);
    expect(both.verified.map((s) => s.name)).toEqual(['PeterNeumann', 'EnochRoot']);
    expect(both.unknown).toEqual([]);
    expect(openNote(note, [enoch]).verified.map((s) => s.name)).toEqual(['EnochRoot']);
  });
});

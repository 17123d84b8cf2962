/** Tables of inputs every parser must reject with a NoteError, and near-misses it must accept. */
import { describe, expect, it } from 'vitest';
import {
  KEY_TYPE_COSIGNATURE,
  KEY_TYPE_ED25519,
  cosignatureVerifier,
  formatCheckpoint,
  formatCosignerVerifierKey,
  formatPrivateKey,
  formatVerifierKey,
  generatePrivateKey,
  isValidKeyName,
  keyId,
  openCheckpoint,
  parseCheckpoint,
  parseNote,
  parsePrivateKey,
  parseVerifierKey,
} from '../../src/note/index.js';
import { CHECKPOINT_15, SKEY, VKEY, b64, expectNoteError, hex } from './helpers.js';

const enc = new TextEncoder();
const ROOT = 'rKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs=';
const SIG = 'M9e0luh4jTG+UMBqOUo9/q+yAEvx1ilBEniMvjf1zfcBOhg+CKubMt53MvIt/uEWP6zdkdIQzd/fmwlM/dlPWF74ewI=';
const TEXT = `example.com/log/testdata\n15\n${ROOT}\n`;
const LINE = `— example.com/log/testdata ${SIG}\n`;

describe('parseNote rejects', () => {
  const bad: Array<[string, string | Uint8Array]> = [
    ['empty', ''],
    ['text only', TEXT],
    ['text and blank line, no signatures', TEXT + '\n'],
    ['signature without final newline', TEXT + '\n' + LINE.slice(0, -1)],
    ['blank line after the signatures', TEXT + '\n' + LINE + '\n'],
    ['no blank line', TEXT + LINE],
    ['CRLF line endings', CHECKPOINT_15.replaceAll('\n', '\r\n')],
    ['CR before the signature', TEXT + '\n' + LINE.slice(0, -1) + '\r\n'],
    ['control character in text', '\u0001' + TEXT + '\n' + LINE],
    ['tab in text', 'a\tb\n\n' + LINE],
    ['NUL in text', TEXT.replace('15', '1\u00005') + '\n' + LINE],
    ['lone surrogate', '\ud800' + TEXT + '\n' + LINE],
    ['invalid UTF-8 byte', Uint8Array.from([0xff, ...enc.encode(TEXT + '\n' + LINE)])],
    ['overlong UTF-8', Uint8Array.from([0xc0, 0xaf, 0x0a, ...enc.encode('\n' + LINE)])],
    ['UTF-8 encoded surrogate', Uint8Array.from([0xed, 0xa0, 0x80, 0x0a, ...enc.encode('\n' + LINE)])],
    ['truncated UTF-8 at the end', Uint8Array.from([...enc.encode(CHECKPOINT_15), 0xe2, 0x80])],
    ['hyphen instead of em dash', TEXT + '\n' + LINE.replace('—', '-')],
    ['en dash instead of em dash', TEXT + '\n' + LINE.replace('—', '–')],
    ['no space after the dash', TEXT + '\n' + LINE.replace('— ', '—')],
    ['two spaces after the dash', TEXT + '\n' + LINE.replace('— ', '—  ')],
    ['two spaces before the signature', TEXT + '\n' + LINE.replace(' M9e0', '  M9e0')],
    ['trailing space', TEXT + '\n' + LINE.replace('\n', ' \n')],
    ['leading space', TEXT + '\n ' + LINE],
    ['name with +', TEXT + '\n' + LINE.replace('testdata', 'test+data')],
    ['name with NBSP', TEXT + '\n' + LINE.replace('testdata', 'test\u00a0data')],
    ['missing name', TEXT + '\n' + `— ${SIG}\n`],
    ['missing signature', TEXT + '\n' + `— example.com/log/testdata\n`],
    ['empty signature', TEXT + '\n' + `— example.com/log/testdata \n`],
    ['unpadded base64', TEXT + '\n' + LINE.replace('=\n', '\n')],
    ['extra padding', TEXT + '\n' + LINE.replace('=\n', '==\n')],
    ['non-canonical base64 (nonzero pad bits)', TEXT + '\n' + LINE.replace('wI=\n', 'wJ=\n')],
    ['URL-safe base64', TEXT + '\n' + LINE.replace(SIG, SIG.replaceAll('+', '-').replaceAll('/', '_'))],
    ['payload of 4 bytes (key ID only)', TEXT + '\n' + `— example.com/log/testdata ${b64(new Uint8Array(4))}\n`],
    ['unexpected line after the signatures', TEXT + '\n' + LINE + 'Unexpected line.\n'],
    ['101 signatures', TEXT + '\n' + LINE.repeat(101)],
  ];
  it.each(bad)('%s', (_, note) => {
    expectNoteError(() => parseNote(note), 'malformed-note');
  });

  it('rejects non-string, non-byte input', () => {
    expectNoteError(() => parseNote(42 as unknown as string), 'malformed-note');
    expectNoteError(() => parseNote(null as unknown as string), 'malformed-note');
  });
});

describe('parseNote accepts', () => {
  it.each([
    ['the vector', CHECKPOINT_15, TEXT],
    ['a 5-byte payload', `x\n\n— k ${b64(new Uint8Array(5))}\n`, 'x\n'],
    ['blank lines inside the text', `a\n\n\nb\n\n${LINE}`, 'a\n\n\nb\n'],
    ['a text that is just a newline', `\n\n${LINE}`, '\n'],
    ['a leading BOM (kept as text)', `\ufeffa\n\n${LINE}`, '\ufeffa\n'],
    ['non-ASCII names and text', `ünï ☃ 日本\n\n— 名前/ключ ${b64(new Uint8Array(8))}\n`, 'ünï ☃ 日本\n'],
  ])('%s', (_, note, text) => {
    expect(parseNote(note).text).toBe(text);
    expect(parseNote(enc.encode(note)).text).toBe(text);
  });
});

describe('parseCheckpoint', () => {
  const bad: Array<[string, string]> = [
    ['empty', ''],
    ['two lines', 'example.com/log\n15\n'],
    ['no final newline', TEXT.slice(0, -1)],
    ['empty origin', `\n15\n${ROOT}\n`],
    ['origin with a space', `example.com/my log\n15\n${ROOT}\n`],
    ['origin with U+3000', `example.com/my\u3000log\n15\n${ROOT}\n`],
    ['origin with a tab', `example.com/my\tlog\n15\n${ROOT}\n`],
    ['origin with CR', `example.com/log\r\n15\n${ROOT}\n`],
    ['leading zero', `o\n015\n${ROOT}\n`],
    ['00', `o\n00\n${ROOT}\n`],
    ['plus sign', `o\n+15\n${ROOT}\n`],
    ['minus', `o\n-1\n${ROOT}\n`],
    ['decimal point', `o\n15.0\n${ROOT}\n`],
    ['exponent', `o\n1e3\n${ROOT}\n`],
    ['hex', `o\n0xf\n${ROOT}\n`],
    ['space before size', `o\n 15\n${ROOT}\n`],
    ['space after size', `o\n15 \n${ROOT}\n`],
    ['empty size', `o\n\n${ROOT}\n`],
    ['size 2^53', `o\n9007199254740992\n${ROOT}\n`],
    ['huge size', `o\n${'9'.repeat(40)}\n${ROOT}\n`],
    ['Arabic-Indic digits', `o\n١٥\n${ROOT}\n`],
    ['root unpadded', `o\n15\n${ROOT.slice(0, -1)}\n`],
    ['root of 31 bytes', `o\n15\n${b64(new Uint8Array(31))}\n`],
    ['root of 33 bytes', `o\n15\n${b64(new Uint8Array(33))}\n`],
    ['root non-canonical', `o\n15\n${ROOT.replace('cs=', 'ct=')}\n`],
    ['root URL-safe', `o\n15\n${ROOT.replace('/', '_')}\n`],
    ['root hex', `o\n15\n${'00'.repeat(32)}\n`],
    ['root with space', `o\n15\n ${ROOT}\n`],
    ['empty extension line', `o\n15\n${ROOT}\n\n`],
    ['empty extension between', `o\n15\n${ROOT}\na\n\nb\n`],
    ['control character in extension', `o\n15\n${ROOT}\na\u0007\n`],
    ['lone surrogate in extension', `o\n15\n${ROOT}\n\udc00\n`],
  ];
  it.each(bad)('rejects %s', (_, text) => {
    expectNoteError(() => parseCheckpoint(text), 'malformed-checkpoint');
  });

  it.each([
    ['size 0', `o\n0\n${ROOT}\n`],
    ['size 2^53-1', `o\n9007199254740991\n${ROOT}\n`],
    ['extension lines', `o\n15\n${ROOT}\nfoo bar\n — x\n`],
    ['origin with + (only a recommendation)', `o+x\n1\n${ROOT}\n`],
    ['unicode origin', `例え.jp/ログ\n1\n${ROOT}\n`],
  ])('accepts %s and formats it back', (_, text) => {
    expect(formatCheckpoint(parseCheckpoint(text))).toBe(text);
  });

  it('formatCheckpoint refuses what parseCheckpoint would', () => {
    const ok = { origin: 'o', size: 1, rootHash: new Uint8Array(32), extensions: [] as string[] };
    const bads = [
      { ...ok, origin: '' },
      { ...ok, origin: 'a b' },
      { ...ok, origin: 'a\nb' },
      { ...ok, size: -1 },
      { ...ok, size: 1.5 },
      { ...ok, size: 2 ** 53 },
      { ...ok, size: NaN },
      { ...ok, rootHash: new Uint8Array(31) },
      { ...ok, extensions: [''] },
      { ...ok, extensions: ['a\nb'] },
      { ...ok, extensions: ['a\rb'] },
      { ...ok, extensions: 'x' as unknown as string[] },
    ];
    for (const c of bads) expectNoteError(() => formatCheckpoint(c), 'malformed-checkpoint');
    expect(formatCheckpoint(ok)).toBe(`o\n1\n${b64(new Uint8Array(32))}\n`);
  });
});

describe('key names', () => {
  it.each(['a', 'example.com/log', 'ünï/日本', '—', 'a=b', 'x\u200by' /* ZWSP is not White_Space */, '\ufeffbom'])('accepts %j', (name) => {
    expect(isValidKeyName(name)).toBe(true);
  });
  it.each(['', 'a b', 'a+b', '+', 'a\tb', 'a\nb', 'a\rb', 'a\u000bb', 'a\u0085b', 'a\u00a0b', 'a\u1680b', 'a\u2003b', 'a\u2028b', 'a\u202fb', 'a\u3000b', '\ud800', 'a\u0001b'])(
    'rejects %j',
    (name) => {
      expect(isValidKeyName(name)).toBe(false);
      expectNoteError(() => generatePrivateKey(name), 'malformed-key');
      expectNoteError(() => formatVerifierKey(name, new Uint8Array(32)), 'malformed-key');
    },
  );
});

describe('verifier keys', () => {
  const key = parsePrivateKey(SKEY);
  const name = 'example.com/log/testdata';
  const vkeyWith = (type: number, pub: Uint8Array, id = keyId(name, type, pub)) => `${name}+${hex(id)}+${b64(Uint8Array.from([type, ...pub]))}`;

  const bad: Array<[string, string]> = [
    ['empty', ''],
    ['name only', name],
    ['no key', `${name}+33d7b496`],
    ['empty key', `${name}+33d7b496+`],
    ['uppercase key ID', VKEY.replace('33d7b496', '33D7B496')],
    ['7-digit key ID', VKEY.replace('33d7b496', '3d7b496')],
    ['9-digit key ID', VKEY.replace('33d7b496', '033d7b496')],
    ['0x key ID', VKEY.replace('33d7b496', '0x33d7b496')],
    ['wrong key ID', VKEY.replace('33d7b496', '33d7b497')],
    ['other name', VKEY.replace('testdata', 'testdatb')],
    ['name with space', vkeyWith(1, key.publicKey).replace('log/', 'log ')],
    ['empty name', `+33d7b496+${VKEY.split('+').slice(2).join('+')}`],
    ['unpadded base64', VKEY.slice(0, -1)],
    ['base64 with whitespace', VKEY + '\n'],
    ['leading space', ' ' + VKEY],
    ['non-canonical base64', VKEY.slice(0, -1) + 'T'],
    ['cosignature type 0x04', vkeyWith(KEY_TYPE_COSIGNATURE, key.publicKey)],
    ['ECDSA type 0x02', vkeyWith(2, key.publicKey)],
    ['31-byte key', vkeyWith(1, key.publicKey.subarray(1))],
    ['33-byte key', vkeyWith(1, Uint8Array.from([...key.publicKey, 0]))],
    ['type byte only', vkeyWith(1, new Uint8Array(0))],
    ['private key string', SKEY],
  ];
  it.each(bad)('parseVerifierKey rejects %s', (_, vkey) => {
    expectNoteError(() => parseVerifierKey(vkey), 'malformed-key');
  });

  it('rejects every proper substring and every one-character change of the vector vkey (as Go tests)', () => {
    for (let i = 0; i <= VKEY.length; i++) {
      for (let j = i + 1; j <= VKEY.length; j++) {
        if (i !== 0 || j !== VKEY.length) expectNoteError(() => parseVerifierKey(VKEY.slice(i, j)), 'malformed-key');
      }
    }
    for (let i = 0; i < VKEY.length; i++) {
      const mangled = VKEY.slice(0, i) + String.fromCharCode(VKEY.charCodeAt(i) + 1) + VKEY.slice(i + 1);
      expectNoteError(() => parseVerifierKey(mangled), 'malformed-key');
    }
  });

  it('formatVerifierKey writes both key types; checks its arguments', () => {
    expect(formatVerifierKey(name, key.publicKey)).toBe(VKEY);
    expect(formatVerifierKey(name, key.publicKey, KEY_TYPE_ED25519)).toBe(VKEY);
    expect(formatVerifierKey(name, key.publicKey, KEY_TYPE_COSIGNATURE)).toBe(vkeyWith(4, key.publicKey));
    expect(formatCosignerVerifierKey(name, key.publicKey)).toBe(vkeyWith(4, key.publicKey));
    expectNoteError(() => formatVerifierKey(name, key.publicKey.subarray(1)), 'malformed-key');
    expectNoteError(() => formatVerifierKey(name, key.publicKey, 2), 'malformed-key');
    expectNoteError(() => keyId(name, 256, key.publicKey), 'malformed-key');
  });

  it('cosignatureVerifier takes only type 0x04 keys', () => {
    expectNoteError(() => cosignatureVerifier(VKEY), 'malformed-key');
    expect(cosignatureVerifier(vkeyWith(4, key.publicKey)).type).toBe(KEY_TYPE_COSIGNATURE);
  });
});

describe('private keys', () => {
  const key = parsePrivateKey(SKEY);
  const rest = SKEY.slice('PRIVATE+KEY+'.length);
  const bad: Array<[string, string]> = [
    ['empty', ''],
    ['verifier key', VKEY],
    ['lowercase prefix', 'private+key+' + rest],
    ['missing KEY', 'PRIVATE+' + rest],
    ['wrong key ID', SKEY.replace('33d7b496', '33d7b497')],
    ['uppercase key ID', SKEY.replace('33d7b496', '33D7B496')],
    ['other name', SKEY.replace('testdata', 'testdatb')],
    ['type 0x04', `PRIVATE+KEY+example.com/log/testdata+33d7b496+${b64(Uint8Array.from([4, ...key.seed]))}`],
    ['31-byte seed', `PRIVATE+KEY+example.com/log/testdata+33d7b496+${b64(Uint8Array.from([1, ...key.seed.subarray(1)]))}`],
    ['64-byte Go private key', `PRIVATE+KEY+example.com/log/testdata+33d7b496+${b64(Uint8Array.from([1, ...key.seed, ...key.publicKey]))}`],
    ['non-canonical base64', SKEY.slice(0, -1) + 'h'],
    ['trailing newline', SKEY + '\n'],
  ];
  it.each(bad)('parsePrivateKey rejects %s', (_, s) => {
    expectNoteError(() => parsePrivateKey(s), 'malformed-key');
  });

  it('rejects every proper substring and every one-character change of the vector key', () => {
    for (let i = 0; i <= SKEY.length; i++) {
      for (let j = i + 1; j <= SKEY.length; j++) {
        if (i !== 0 || j !== SKEY.length) expectNoteError(() => parsePrivateKey(SKEY.slice(i, j)), 'malformed-key');
      }
    }
    for (let i = 0; i < SKEY.length; i++) {
      const mangled = SKEY.slice(0, i) + String.fromCharCode(SKEY.charCodeAt(i) + 1) + SKEY.slice(i + 1);
      expectNoteError(() => parsePrivateKey(mangled), 'malformed-key');
    }
  });

  it('formatPrivateKey / generatePrivateKey', () => {
    expect(formatPrivateKey(key.name, key.seed)).toBe(SKEY);
    expectNoteError(() => formatPrivateKey(key.name, key.seed.subarray(1)), 'malformed-key');
    const g = generatePrivateKey('example.com/g');
    expect(parsePrivateKey(formatPrivateKey(g.name, g.seed))).toEqual(g);
    expect(generatePrivateKey('example.com/g').seed).not.toEqual(g.seed);
  });
});

describe('openCheckpoint with a wrong or missing key', () => {
  it('rejects', () => {
    const other = generatePrivateKey('example.com/log/testdata');
    expectNoteError(() => openCheckpoint(CHECKPOINT_15, parseVerifierKey(formatVerifierKey(other.name, other.publicKey))), 'no-verified-signature');
  });
});

/**
 * Signed notes (C2SP signed-note v1.0.0), after golang.org/x/mod/sumdb/note:
 *
 *     <text, ending in \n>
 *     \n
 *     — <key name> <base64(4-byte key ID || signature)>\n     (one or more)
 *
 * The signature covers the text including its final newline. The LAST blank line separates text
 * from signatures, so the text may itself contain blank lines.
 */
import { NoteError } from './errors.js';
import { base64Decode, base64Encode, bytesEqual, hexEncode, isNoteSafe, utf8Decode, utf8Encode } from './encoding.js';
import { type Signer, type Verifier, isValidKeyName } from './keys.js';

/** One signature line of a note. Verified or not depends on where you got it. */
export interface NoteSignature {
  name: string;
  /** The first 4 bytes of the decoded payload. */
  keyId: Uint8Array;
  /** The rest of the decoded payload (64 bytes for Ed25519, 72 for a cosignature). */
  signature: Uint8Array;
  /** The line exactly as in the note, including its final '\n'; can be appended to a note as is. */
  line: string;
}

/** U+2014 EM DASH, then a space: the prefix of every signature line. */
const SIG_PREFIX = '\u2014 ';
/**
 * Upper bound on signature lines, checked before any is decoded or verified (signed-note requires
 * accepting at least 16; Go's note package stops at 100).
 */
export const MAX_SIGNATURES = 100;

function malformed(message: string, field?: string): NoteError {
  return new NoteError('malformed-note', message, field);
}

/** Parses one signature line (without its '\n'); throws malformed-note. */
function parseSignatureLine(line: string, field: string): NoteSignature {
  if (!line.startsWith(SIG_PREFIX)) throw malformed('signature line must start with "\u2014 "', field);
  const body = line.slice(SIG_PREFIX.length);
  // The name has no spaces, so the first space ends it; a space in the base64 fails decoding.
  const sp = body.indexOf(' ');
  if (sp < 0) throw malformed('signature line must be "\u2014 <name> <base64>"', field);
  const name = body.slice(0, sp);
  if (!isValidKeyName(name)) throw malformed('invalid key name in signature line', field);
  const raw = base64Decode(body.slice(sp + 1));
  if (!raw) throw malformed('signature must be canonical padded base64', field);
  if (raw.length < 5) throw malformed('signature must be a 4-byte key ID and at least one byte', field);
  return { name, keyId: raw.slice(0, 4), signature: raw.slice(4), line: line + '\n' };
}

/** Text as a string, checked to be valid UTF-8 / Unicode without control characters but '\n'. */
function noteString(note: string | Uint8Array): string {
  let s: string | undefined;
  if (typeof note === 'string') s = note;
  else if (note instanceof Uint8Array) s = utf8Decode(note);
  else throw malformed('note must be a string or bytes');
  if (s === undefined) throw malformed('note is not valid UTF-8');
  if (!isNoteSafe(s)) throw malformed('note must be valid Unicode without control characters other than newline');
  return s;
}

/**
 * Parses a signed note's syntax; verifies nothing. Rejects: invalid UTF-8 (or lone surrogates),
 * control characters other than '\n' (so no '\r'), no blank line, a signature block that is empty
 * or does not end in '\n', any line after the last blank line that is not a signature line, and
 * more than MAX_SIGNATURES signature lines.
 */
export function parseNote(note: string | Uint8Array): { text: string; signatures: NoteSignature[] } {
  const s = noteString(note);
  const split = s.lastIndexOf('\n\n');
  if (split < 0) throw malformed('no blank line before the signatures');
  const text = s.slice(0, split + 1);
  const block = s.slice(split + 2);
  if (block === '' || !block.endsWith('\n')) throw malformed('signature block must be one or more lines, each ending in a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw malformed(`more than ${MAX_SIGNATURES} signature lines`);
  const signatures = lines.map((line, i) => parseSignatureLine(line, `signatures[${i}]`));
  return { text, signatures };
}

function checkText(text: string): void {
  if (typeof text !== 'string' || !text.endsWith('\n')) throw malformed('note text must end with a newline', 'text');
  if (!isNoteSafe(text)) throw malformed('note text must be valid Unicode without control characters other than newline', 'text');
}

/**
 * Signs `text` (which must end in '\n') with each signer and returns the whole note: the text, a
 * blank line, the new signature lines in signer order, then `extraLines` — already-made signature
 * lines such as witness cosignatures, each with or without its '\n', checked for syntax only.
 */
export function signNote(text: string, signers: Signer[], extraLines: string[] = []): string {
  checkText(text);
  const msg = utf8Encode(text);
  let sigs = '';
  let count = 0;
  for (const [i, s] of signers.entries()) {
    if (!isValidKeyName(s.name)) throw new NoteError('malformed-key', 'invalid signer name', `signers[${i}].name`);
    if (!(s.keyId instanceof Uint8Array) || s.keyId.length !== 4) {
      throw new NoteError('malformed-key', 'signer key ID must be 4 bytes', `signers[${i}].keyId`);
    }
    const sig = s.sign(msg);
    if (!(sig instanceof Uint8Array) || sig.length === 0) throw malformed('signer returned no signature', `signers[${i}]`);
    const payload = new Uint8Array(4 + sig.length);
    payload.set(s.keyId);
    payload.set(sig, 4);
    sigs += `${SIG_PREFIX}${s.name} ${base64Encode(payload)}\n`;
    count++;
  }
  for (const [i, l] of extraLines.entries()) {
    if (typeof l !== 'string') throw malformed('signature line must be a string', `extraLines[${i}]`);
    const line = l.endsWith('\n') ? l.slice(0, -1) : l;
    if (!isNoteSafe(line)) throw malformed('signature line must not contain control characters', `extraLines[${i}]`);
    sigs += parseSignatureLine(line, `extraLines[${i}]`).line;
    count++;
  }
  if (count === 0) throw malformed('a note needs at least one signature');
  if (count > MAX_SIGNATURES) throw malformed(`more than ${MAX_SIGNATURES} signature lines`);
  return `${text}\n${sigs}`;
}

const verifierKey = (name: string, id: Uint8Array) => `${name}\n${hexEncode(id)}`;

/** Indexes verifiers by (name, key ID); a repeat of the same key is fine, a different key is not. */
export function verifierMap(verifiers: Verifier[]): Map<string, Verifier> {
  const map = new Map<string, Verifier>();
  for (const v of verifiers) {
    const k = verifierKey(v.name, v.keyId);
    const prev = map.get(k);
    if (prev && (prev.type !== v.type || !bytesEqual(prev.publicKey, v.publicKey))) {
      throw new NoteError('ambiguous-key', `two different keys named ${v.name} with key ID ${hexEncode(v.keyId)}`);
    }
    if (!prev) map.set(k, v);
  }
  return map;
}

/**
 * Parses a note and checks its signatures against `verifiers`, the signed-note way:
 * - a signature whose (name, key ID) matches no verifier is ignored (returned in `unknown`;
 *   identical repeated lines once);
 * - a signature by a known key must verify, or the whole note is rejected (`bad-signature`);
 *   unlike Go's note.Open, repeated signatures by one key are each verified, then listed once;
 * - if no known key signed, the note is rejected (`no-verified-signature`).
 */
export function openNote(
  note: string | Uint8Array,
  verifiers: Verifier[],
): { text: string; verified: NoteSignature[]; unknown: NoteSignature[] } {
  const { text, signatures } = parseNote(note);
  const known = verifierMap(verifiers);
  const msg = utf8Encode(text);
  const verified: NoteSignature[] = [];
  const unknown: NoteSignature[] = [];
  const seenKeys = new Set<string>();
  const seenLines = new Set<string>();
  for (const sig of signatures) {
    const k = verifierKey(sig.name, sig.keyId);
    const v = known.get(k);
    if (!v) {
      if (!seenLines.has(sig.line)) unknown.push(sig);
      seenLines.add(sig.line);
      continue;
    }
    if (!v.verify(msg, sig.signature)) {
      throw new NoteError('bad-signature', `invalid signature by ${sig.name}+${hexEncode(sig.keyId)}`, 'signatures');
    }
    if (!seenKeys.has(k)) verified.push(sig);
    seenKeys.add(k);
  }
  if (verified.length === 0) throw new NoteError('no-verified-signature', 'note has no signature by a known key');
  return { text, verified, unknown };
}

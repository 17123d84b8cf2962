/** Reading and writing the C2SP private key files the CLI signs with. */
import { readFile, writeFile } from 'node:fs/promises';
import { nobleSigner, parsePrivateKey, parseVerifierKey, type PrivateKey, type Signer, type Verifier } from '../note/index.js';
import { formatKeyRef, type KeyRef } from '../records/index.js';
import { UsageError } from './output.js';

export interface KeyFile {
  key: PrivateKey;
  signer: Signer;
  keyRef: KeyRef;
}

export async function readKeyFile(path: string): Promise<KeyFile> {
  const key = parsePrivateKey((await readFile(path, 'utf8')).trim());
  return { key, signer: nobleSigner(key), keyRef: formatKeyRef(key.publicKey) };
}

/** Writes a secret with mode 0600; refuses to overwrite (flag 'wx'). */
export async function writeSecretFile(path: string, text: string): Promise<void> {
  try {
    await writeFile(path, text, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as { code?: string }).code === 'EEXIST') throw new UsageError(`${path} already exists; refusing to overwrite a key`);
    throw e;
  }
}

/** A verifier key given inline or as a file path. */
export async function readVerifierKey(arg: string): Promise<Verifier> {
  const text = isInlineVerifierKey(arg) ? arg : (await readFile(arg, 'utf8')).trim();
  return parseVerifierKey(text);
}

/** `<name>+<8 hex>+<base64>`: an inline verifier key rather than a file name. */
export function isInlineVerifierKey(arg: string): boolean {
  return /^[^+\s]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$/.test(arg.trim());
}

/**
 * The creator's key, kept in this browser's localStorage as the same C2SP private key string
 * `pvl keygen` writes, so the file can move between the page and the command line.
 */
import { type PrivateKey, formatPrivateKey, generatePrivateKey, nobleSigner, parsePrivateKey, type Signer } from '../src/note/index.js';
import { formatKeyRef, type KeyRef } from '../src/records/index.js';

const KEY_ITEM = 'pvl.key';
const GRANTS_ITEM = 'pvl.grants';

export interface MyGrant {
  index: number;
  works: string[][];
  time: string;
  revoked?: { index: number; effective: string };
}

export class Identity {
  private key: PrivateKey | undefined;

  constructor(private readonly storage: Storage) {
    const saved = storage.getItem(KEY_ITEM);
    if (saved) this.key = parsePrivateKey(saved.trim());
  }

  get present(): boolean {
    return this.key !== undefined;
  }

  get ref(): KeyRef | undefined {
    return this.key ? formatKeyRef(this.key.publicKey) : undefined;
  }

  get name(): string | undefined {
    return this.key?.name;
  }

  get signer(): Signer {
    if (!this.key) throw new Error('create or import a key first');
    return nobleSigner(this.key);
  }

  create(name: string): void {
    this.set(generatePrivateKey(name));
  }

  /** Imports a key file's text (throws a readable error if it is not a key). */
  import(text: string): void {
    this.set(parsePrivateKey(text.trim()));
  }

  /** The key file, as `pvl keygen --out` writes it. */
  exportFile(): string {
    if (!this.key) throw new Error('no key to export');
    return `${formatPrivateKey(this.key.name, this.key.seed)}\n`;
  }

  grants(): MyGrant[] {
    return JSON.parse(this.storage.getItem(GRANTS_ITEM) ?? '[]') as MyGrant[];
  }

  saveGrants(grants: MyGrant[]): void {
    this.storage.setItem(GRANTS_ITEM, JSON.stringify(grants));
  }

  private set(key: PrivateKey): void {
    this.key = key;
    this.storage.setItem(KEY_ITEM, formatPrivateKey(key.name, key.seed));
    this.storage.removeItem(GRANTS_ITEM);
  }
}

/**
 * Writes the query index for a run of integrated log entries: work → uses (inline and manifest
 * items), work → consent grants, manifest → training uses, and last the indexed size `N`.
 * Every key is a pure function of the log (and of the manifests the log's records commit to),
 * so indexing the same run twice writes the same keys: a crash before `N` is harmless.
 */
import type { KeyValueSpace } from '../store/index.js';
import { type ParsedRecord, type UseItem, decodeManifestItem, fromHex } from '../records/index.js';
import { indexedKey, manifestUseKey, u64, workUseKey } from './keys.js';
import type { ManifestStore } from './manifests.js';

const OPS_PER_WRITE = 20_000;

export interface IndexedItem {
  useIndex: number;
  position: number;
  item: UseItem;
}

/** Sees each indexed item; a promise it returns is awaited before indexing goes on. */
type OnItem = (item: IndexedItem) => void | Promise<void>;
type Op = { key: Uint8Array; value: Uint8Array | null };
/** A work named by an indexed use item. */
export type WorkUse = { work: string; useIndex: number; position: number };
const EMPTY = new Uint8Array(0);

export class IndexWriter {
  private ops: Op[] = [];
  private workUses: WorkUse[] = [];

  /** `onWritten` hears of each work → use key once it is written (for caches of the index). */
  constructor(
    private readonly space: KeyValueSpace,
    private readonly manifests: ManifestStore,
    private readonly onWritten?: (uses: WorkUse[]) => void,
  ) {}

  /**
   * Indexes `records` (the parsed entries of [from, to), undefined for entries that are not
   * records) and stores N = to. `onItem` sees every training-use item, in log order.
   */
  async indexRun(records: Array<{ index: number; record: ParsedRecord | undefined }>, to: number, onItem?: OnItem): Promise<void> {
    for (const { index, record } of records) {
      if (!record) continue;
      const p = record.payload;
      if (p.type === 'training-use') {
        if (p.items) for (const [position, item] of p.items.entries()) await this.addItem({ useIndex: index, position, item }, onItem);
        else await this.indexManifestUse(index, fromHex(p.manifest!.root)!, onItem);
      }
      await this.flushIfBig();
    }
    this.ops.push({ key: indexedKey, value: u64(to) });
    await this.flush();
  }

  private async addItem(indexed: IndexedItem, onItem?: OnItem): Promise<void> {
    for (const id of indexed.item.work) {
      this.ops.push({ key: workUseKey(id, indexed.useIndex, indexed.position), value: EMPTY });
      if (this.onWritten) this.workUses.push({ work: id, useIndex: indexed.useIndex, position: indexed.position });
    }
    const pending = onItem?.(indexed);
    if (pending) await pending;
  }

  private async indexManifestUse(useIndex: number, root: Uint8Array, onItem?: OnItem): Promise<void> {
    this.ops.push({ key: manifestUseKey(root, useIndex), value: EMPTY });
    // Admission made sure the manifest was stored before the record; if it is gone (a store
    // rebuilt without its uploads), its items cannot be indexed and the use lists none.
    for await (const { position, bytes } of this.manifests.items(root)) {
      await this.addItem({ useIndex, position, item: decodeManifestItem(bytes) }, onItem);
      await this.flushIfBig();
    }
  }

  private async flushIfBig(): Promise<void> {
    if (this.ops.length >= OPS_PER_WRITE) await this.flush();
  }

  private async flush(): Promise<void> {
    const ops = this.ops;
    const workUses = this.workUses;
    this.ops = [];
    this.workUses = [];
    // Derived from the log: lost with a machine crash, the index is rebuilt from the older N.
    if (ops.length > 0) await this.space.write(ops, { durable: false });
    if (workUses.length > 0) this.onWritten?.(workUses);
  }
}

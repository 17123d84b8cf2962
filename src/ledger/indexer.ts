/**
 * Writes the query index for a run of integrated log entries: work → uses (inline and manifest
 * items), manifest → training uses, and last the indexed size `N`. A work gets one key per
 * training use, at the first item of the use that names it: repeating a work in a use adds
 * nothing (NamedInUse). Every key is a pure function of the log (and of the manifests the log's
 * records commit to), so indexing the same run twice writes the same keys: a crash before `N`
 * is harmless.
 */
import type { KeyValueSpace } from '../store/index.js';
import { type ParsedRecord, type UseItem, decodeManifestItem, fromHex } from '../records/index.js';
import { NamedInUse } from './dedup.js';
import { indexedKey, manifestUseKey, u64, workUseKey } from './keys.js';
import type { ManifestStore } from './manifests.js';

const OPS_PER_WRITE = 20_000;

export interface IndexedItem {
  useIndex: number;
  position: number;
  item: UseItem;
}

/** An item that names at least one work no earlier item of its use named: those are `fresh`. */
export interface FreshItem extends IndexedItem {
  fresh: string[];
}

/** Sees each indexed item; a promise it returns is awaited before indexing goes on. */
type OnItem = (item: FreshItem) => void | Promise<void>;
type Op = { key: Uint8Array; value: Uint8Array | null };
/** A work named by an indexed use item. */
export type WorkUse = { work: string; useIndex: number; position: number };
const EMPTY = new Uint8Array(0);

/** The training use being indexed: what its items named, and which of those keys await the next write. */
interface UseState {
  index: number;
  /** The item being indexed. */
  position: number;
  named: NamedInUse;
  unwritten: Set<string>;
}

/** About how many identifiers an item names (sizes the dedup filter of big manifests). */
const IDS_PER_ITEM = 2;

/**
 * Whether the store holds a work → use key of (`id`, `useIndex`) at a position below `position`:
 * true also for a store indexed before deduplication, whose first such key is the first item.
 */
export async function namedEarlier(space: KeyValueSpace, id: string, useIndex: number, position: number): Promise<boolean> {
  for await (const _ of space.range({ gte: workUseKey(id, useIndex, 0), lt: workUseKey(id, useIndex, position), limit: 1 })) return true;
  return false;
}

export class IndexWriter {
  private ops: Op[] = [];
  private workUses: WorkUse[] = [];
  private use: UseState | undefined;

  /** `onWritten` hears of each work → use key once it is written (for caches of the index). */
  constructor(
    private readonly space: KeyValueSpace,
    private readonly manifests: ManifestStore,
    private readonly onWritten?: (uses: WorkUse[]) => void,
  ) {}

  /**
   * Indexes `records` (the parsed entries of [from, to), undefined for entries that are not
   * records) and stores N = to. `onItem` sees, in log order, every training-use item that names
   * a work no earlier item of its use named.
   */
  async indexRun(records: Array<{ index: number; record: ParsedRecord | undefined }>, to: number, onItem?: OnItem): Promise<void> {
    for (const { index, record } of records) {
      if (!record) continue;
      const p = record.payload;
      if (p.type === 'training-use') {
        this.startUse(index, (p.items?.length ?? p.manifest!.count) * IDS_PER_ITEM);
        if (p.items) for (const [position, item] of p.items.entries()) await this.addItem({ useIndex: index, position, item }, onItem);
        else await this.indexManifestUse(index, fromHex(p.manifest!.root)!, onItem);
        this.use = undefined;
      }
      await this.flushIfBig();
    }
    this.ops.push({ key: indexedKey, value: u64(to) });
    await this.flush();
  }

  private startUse(index: number, expectedIds: number): void {
    this.use = { index, position: 0, unwritten: new Set(), named: new NamedInUse(expectedIds, (id) => this.namedEarlierInUse(id)) };
  }

  /** Named by an earlier item of the use being indexed: by a key still waiting for the next write, or by one written. */
  private async namedEarlierInUse(id: string): Promise<boolean> {
    const use = this.use!;
    return use.unwritten.has(id) || namedEarlier(this.space, id, use.index, use.position);
  }

  private async addItem(indexed: IndexedItem, onItem?: OnItem): Promise<void> {
    const use = this.use!;
    use.position = indexed.position;
    const checked = use.named.fresh(indexed.item.work);
    const fresh = Array.isArray(checked) ? checked : await checked;
    if (fresh.length === 0) return;
    for (const id of fresh) {
      this.ops.push({ key: workUseKey(id, indexed.useIndex, indexed.position), value: EMPTY });
      use.unwritten.add(id);
      if (this.onWritten) this.workUses.push({ work: id, useIndex: indexed.useIndex, position: indexed.position });
    }
    const pending = onItem?.({ ...indexed, fresh });
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
    // Written now, so the store answers for them.
    this.use?.unwritten.clear();
    if (workUses.length > 0) this.onWritten?.(workUses);
  }
}

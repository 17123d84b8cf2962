/**
 * A bounded cache that keeps what was used recently, in two generations (the scheme of
 * quick-lru and hashlru): new and touched keys go to the young map; when it holds `capacity / 2`
 * keys it becomes the old map and the previous old map is dropped. A hit in the young map costs
 * one Map lookup — an exact LRU re-inserts the key on every hit, which showed up in profiles of
 * the proof path. At most `capacity` entries are held; the `capacity / 2` most recently used
 * keys are always kept.
 */
export class Lru<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private readonly half: number;

  constructor(capacity: number) {
    this.half = Math.max(1, Math.floor(capacity / 2));
  }

  get(key: K): V | undefined {
    const value = this.young.get(key);
    if (value !== undefined) return value;
    const aged = this.old.get(key);
    if (aged !== undefined) {
      this.old.delete(key);
      this.keep(key, aged);
    }
    return aged;
  }

  set(key: K, value: V): void {
    if (this.young.has(key)) {
      this.young.set(key, value);
      return;
    }
    this.old.delete(key);
    this.keep(key, value);
  }

  clear(): void {
    this.young.clear();
    this.old.clear();
  }

  private keep(key: K, value: V): void {
    this.young.set(key, value);
    if (this.young.size >= this.half) {
      this.old = this.young;
      this.young = new Map();
    }
  }
}

/**
 * Shares equal values among the records the policy keeps. A log repeats itself — the same
 * stipulations, validity dates and author keys in record after record — and the policy holds
 * every grant and use for the life of the process, so one shared copy instead of one per record
 * is most of a grant's memory. Bounded: past `limit` distinct values a table starts again, so a
 * log of all-distinct values costs the table and no more.
 */
export class Interner {
  private strings = new Map<string, string>();
  private values = new Map<string, unknown>();

  constructor(private readonly limit = 4096) {}

  /** An equal string seen before, or `s` (remembered). */
  string<T extends string>(s: T): T;
  string<T extends string>(s: T | undefined): T | undefined;
  string<T extends string>(s: T | undefined): T | undefined {
    if (s === undefined) return undefined;
    const seen = this.strings.get(s);
    if (seen !== undefined) return seen as T;
    if (this.strings.size >= this.limit) this.strings = new Map();
    this.strings.set(s, s);
    return s;
  }

  /**
   * An equal JSON value seen before, or `v` (remembered). Equal means the same JSON text, which
   * for parsed records (canonical JSON: keys in one order) is equal as values. Shared values must
   * not be mutated.
   */
  value<T>(v: T): T {
    if (v === undefined || v === null || typeof v !== 'object') return v;
    const key = JSON.stringify(v);
    const seen = this.values.get(key);
    if (seen !== undefined) return seen as T;
    if (this.values.size >= this.limit) this.values = new Map();
    this.values.set(key, v);
    return v;
  }
}

/**
 * The contract every benchmark file follows. bench/run.ts imports each file's `benches`,
 * runs them in order and prints a table, or one JSON object per line with `--json`.
 */
export interface BenchOptions {
  /** Smaller sizes, for a smoke run (`npm run bench -- --quick`). */
  quick: boolean;
}

/** One result line: `name` plus the figures, e.g. {name: "log.append", entries: 1e6, entries_per_s: 2e5}. */
export type BenchResult = { name: string } & Record<string, number | string | boolean>;

export interface Bench {
  /** Group name used by `npm run bench -- --only <group>`. */
  group: string;
  /** A narrower name that also selects it (`--only declare` for one bench of the `cli` group). */
  name?: string;
  run(opts: BenchOptions): Promise<BenchResult[]>;
}

/** Seconds since `start` (from performance.now()). */
export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}

export function median(xs: number[]): number {
  return percentile(xs, 50);
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/** The `pvl watch` state file (spec/cli.md): last trusted checkpoint and last reported use. */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './checkpoint-file.js';

export interface WatchState {
  type: 'pvl.watch-state/v1';
  /** Signed checkpoint note last verified (consistency is checked against it). */
  checkpoint: string | null;
  /** `<useIndex>.<position>` of the last use reported, as in SSE ids. */
  lastEventId: string | null;
}

export async function loadState(path: string | undefined): Promise<WatchState> {
  const empty: WatchState = { type: 'pvl.watch-state/v1', checkpoint: null, lastEventId: null };
  if (!path) return empty;
  try {
    return { ...empty, ...(JSON.parse(await readFile(path, 'utf8')) as Partial<WatchState>) };
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return empty;
    throw e;
  }
}

export async function saveState(path: string | undefined, state: WatchState): Promise<void> {
  if (path) await writeFileAtomic(path, JSON.stringify(state, null, 2) + '\n');
}

/** Orders SSE ids `<useIndex>.<position>` numerically. */
export function eventIdAfter(id: string, last: string | null): boolean {
  if (last === null) return true;
  const [a, b] = id.split('.').map(Number);
  const [c, d] = last.split('.').map(Number);
  return a > c || (a === c && b > d);
}

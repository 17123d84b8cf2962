/**
 * `GET /events` — Server-Sent Events of new uses (spec/api.md, Notifications).
 *
 *   id: <useIndex>.<position>
 *   event: use
 *   data: <Use as JSON>
 *
 * With `Last-Event-ID` the stream first replays every later use from the index (log order), a
 * page at a time from the cursor (one page in memory, written as the client reads), then goes
 * live. Live uses are buffered from before the replay starts and deduplicated by their
 * (useIndex, position) key, so nothing falls between replay and live. A client that reads slower
 * than uses arrive is not buffered for without bound: past MAX_QUEUE live uses the stream drops
 * them and reads them again from the index, as a replay. `: keepalive` comment lines keep
 * proxies from closing an idle stream.
 *
 *   event: claim
 *   data: <ClaimNotice as JSON>
 *
 * tells a creator that a new grant names a work of theirs (spec/api.md, Notifications). Claim
 * events are live only and carry no `id:`, so a client's Last-Event-ID stays a use position.
 */
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { ClaimNotice, Ledger, UseReport } from '../ledger/types.js';
import { MAX_CREATOR_WORKS } from '../ledger/queries.js';
import { HttpProblem } from './problem.js';

/** Items a replay reads from the index at a time. */
const REPLAY_PAGE = 100;
/** Live uses waiting for a slow client, past which they are read again from the index instead. */
const MAX_QUEUE = 1000;
/**
 * Replay pages built at once, server-wide. Hundreds of streams opened with `Last-Event-ID: 0.0`
 * each ask for the same pages of reports; built all at once they hold the event loop for seconds
 * and every other request waits behind them. Taken in turns, other requests run in between.
 */
const REPLAY_PAGES_AT_ONCE = 2;

/** Runs at most `limit` jobs at once, the rest in arrival order. */
class Turns {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.active < this.limit) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await job();
    } finally {
      // The slot passes straight to the next in line, or is given back.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

interface EventsOptions {
  ledger: Ledger;
  keepaliveMs: number;
  shutdown?: AbortSignal;
  checkKeyRef: (key: string, field: string) => string;
  checkWorkId: (id: string, field: string) => string;
}

type Position = { useIndex: number; position: number };

const after = (a: Position, b: Position | null) => b === null || a.useIndex > b.useIndex || (a.useIndex === b.useIndex && a.position > b.position);

export function parseEventId(id: string): Position {
  const m = /^(0|[1-9][0-9]{0,15})\.(0|[1-9][0-9]{0,15})$/.exec(id.trim());
  if (!m || !Number.isSafeInteger(Number(m[1])) || !Number.isSafeInteger(Number(m[2]))) {
    throw new HttpProblem(400, 'bad-event-id', `Last-Event-ID must be <useIndex>.<position>, got ${JSON.stringify(id.slice(0, 40))}`, 'Last-Event-ID');
  }
  return { useIndex: Number(m[1]), position: Number(m[2]) };
}

function workIdsOf(use: UseReport): string[] {
  const ids: string[] = [];
  const w = (use.item as { work?: unknown }).work;
  if (Array.isArray(w)) for (const id of w) if (typeof id === 'string') ids.push(id);
  if (use.bundle?.work) ids.push(use.bundle.work);
  return ids;
}

export function eventsHandler(opts: EventsOptions) {
  const { ledger } = opts;
  const replayTurns = new Turns(REPLAY_PAGES_AT_ONCE);
  return async (c: Context) => {
    const creators = c.req.queries('creator') ?? [];
    const works = (c.req.queries('work') ?? []).map((w, i) => opts.checkWorkId(w, `work[${i}]`));
    if (creators.length > 1) throw new HttpProblem(400, 'bad-parameter', 'give at most one creator per stream', 'creator');
    if (works.length > MAX_CREATOR_WORKS) throw new HttpProblem(400, 'bad-parameter', `give at most ${MAX_CREATOR_WORKS} works per stream, got ${works.length}`, 'work');
    const creator = creators.length === 1 ? opts.checkKeyRef(creators[0], 'creator') : undefined;
    if (creator === undefined && works.length === 0) throw new HttpProblem(400, 'missing-parameter', 'give ?creator=<key> or ?work=<id>', 'creator');
    const lastEventId = c.req.header('last-event-id');
    const resumeFrom = lastEventId !== undefined && lastEventId.trim() !== '' ? parseEventId(lastEventId) : null;
    const filter: { creator?: string; works?: string[] } = {};
    if (creator !== undefined) filter.creator = creator;
    if (works.length > 0) filter.works = works;
    const workSet = new Set(works);
    const matches = (use: UseReport, claimants: string[]) =>
      (creator !== undefined && claimants.includes(creator)) || (workSet.size > 0 && workIdsOf(use).some((id) => workSet.has(id)));
    const claimMatches = (claim: ClaimNotice) => (creator !== undefined && claim.claimedBy.includes(creator)) || workSet.has(claim.work);

    return streamSSE(c, async (stream) => {
      const queue: UseReport[] = [];
      /** Live claim notices waiting to be written; past MAX_QUEUE they are dropped (they are not replayed). */
      const claims: ClaimNotice[] = [];
      /** Live uses were dropped (the queue was full): read them from the index. */
      let behind = false;
      let wake: (() => void) | null = null;
      let closed = false;
      const poke = () => {
        const w = wake;
        wake = null;
        w?.();
      };
      const stop = () => {
        closed = true;
        poke();
      };
      // Subscribe before the replay so that nothing published meanwhile is missed.
      const unsubscribe = ledger.onUse((use, claimants) => {
        if (!matches(use, claimants)) return;
        if (queue.length >= MAX_QUEUE) behind = true;
        else queue.push(use);
        poke();
      });
      const unsubscribeClaims = ledger.onClaim?.((claim) => {
        if (!claimMatches(claim) || claims.length >= MAX_QUEUE) return;
        claims.push(claim);
        poke();
      });
      stream.onAbort(stop);
      opts.shutdown?.addEventListener('abort', stop, { once: true });
      if (opts.shutdown?.aborted) closed = true;
      const keepalive = setInterval(() => {
        if (!closed) void stream.write(': keepalive\n\n');
      }, opts.keepaliveMs);
      let last: Position | null = resumeFrom;
      const send = async (use: UseReport, data = JSON.stringify(use)) => {
        if (!after(use, last)) return;
        last = { useIndex: use.useIndex, position: use.position };
        await stream.writeSSE({ id: `${use.useIndex}.${use.position}`, event: 'use', data });
      };
      /**
       * Sends the uses after `from` from the index, a page at a time. A page is built and
       * serialised in its turn (replayTurns) and written after it, so that a client reading
       * slowly holds no turn.
       */
      const replay = async (from: Position) => {
        for (let cursor: Position | null = from; cursor && !closed; ) {
          const at: Position = cursor;
          const page = await replayTurns.run(async () => {
            const { uses, next } = await ledger.usesSince(filter, at, REPLAY_PAGE);
            return { next, uses: uses.map((use) => ({ use, data: JSON.stringify(use) })) };
          });
          for (const { use, data } of page.uses) {
            if (closed) break;
            await send(use, data);
          }
          cursor = page.next;
        }
      };
      try {
        // Flushes the response head so clients see the stream open at once.
        await stream.write(': ok\n\n');
        if (resumeFrom) await replay(resumeFrom);
        while (!closed) {
          // Until both are empty: either may grow while the other is written.
          while ((queue.length > 0 || claims.length > 0) && !closed) {
            if (queue.length > 0) await send(queue.shift()!);
            else await stream.writeSSE({ event: 'claim', data: JSON.stringify(claims.shift()!) });
          }
          if (closed) break;
          // The queue held the earliest dropped use's predecessors: `last` is set, and what came
          // after it is in the index (a use is announced only once indexed).
          if (behind && last) {
            behind = false;
            await replay(last);
            continue;
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
      } finally {
        clearInterval(keepalive);
        unsubscribe();
        unsubscribeClaims?.();
        opts.shutdown?.removeEventListener('abort', stop);
      }
    });
  };
}

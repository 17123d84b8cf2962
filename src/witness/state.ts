/**
 * The witness's durable state in its own LevelDB (spec/witness.md, "Storage"):
 *
 *     "latest/" origin                          → JSON LatestCheckpoint (what the witness last cosigned)
 *     "cosigned/" origin 0x00 size (16 digits)  → the cosigned note (history, for evidence)
 *
 * Both keys of one cosigning are written in one synchronous batch. Callers serialise per origin
 * (KeyedMutex); this module only reads and writes.
 */
import { Level } from 'level';
import { base64Decode, base64Encode } from '../note/encoding.js';

export interface LatestCheckpoint {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  /** The checkpoint text, the trusted log signature lines and this witness's cosignature line. */
  note: string;
  /** POSIX seconds of the cosignature. */
  cosignedAt: number;
}

interface StoredLatest {
  size: number;
  rootHash: string;
  note: string;
  cosignedAt: number;
}

const LATEST = 'latest/';
const HISTORY = 'cosigned/';

const historyKey = (origin: string, size: number) => `${HISTORY}${origin}\u0000${String(size).padStart(16, '0')}`;

export class WitnessState {
  private constructor(private readonly db: Level<string, string>) {}

  static async open(location: string): Promise<WitnessState> {
    const db = new Level<string, string>(location, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    await db.open();
    return new WitnessState(db);
  }

  async latest(origin: string): Promise<LatestCheckpoint | undefined> {
    const raw = await this.db.get(LATEST + origin);
    return raw === undefined ? undefined : decode(origin, raw);
  }

  /** Every origin with a cosigned checkpoint and its latest one, in origin order. */
  async all(): Promise<LatestCheckpoint[]> {
    const out: LatestCheckpoint[] = [];
    for await (const [key, value] of this.db.iterator({ gte: LATEST, lt: LATEST.slice(0, -1) + '0' })) {
      out.push(decode(key.slice(LATEST.length), value));
    }
    return out;
  }

  /** Stores a newly cosigned checkpoint as the latest, with its history record, durably. */
  async commit(c: LatestCheckpoint): Promise<void> {
    const stored: StoredLatest = { size: c.size, rootHash: base64Encode(c.rootHash), note: c.note, cosignedAt: c.cosignedAt };
    await this.db
      .batch()
      .put(LATEST + c.origin, JSON.stringify(stored))
      .put(historyKey(c.origin, c.size), c.note)
      .write({ sync: true } as object);
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

function decode(origin: string, raw: string): LatestCheckpoint {
  const s = JSON.parse(raw) as StoredLatest;
  const rootHash = base64Decode(s.rootHash);
  if (!rootHash || rootHash.length !== 32 || !Number.isSafeInteger(s.size)) throw new Error(`corrupt witness state for ${origin}`);
  return { origin, size: s.size, rootHash, note: s.note, cosignedAt: s.cosignedAt };
}

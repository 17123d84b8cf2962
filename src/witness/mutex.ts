/**
 * One async lock per key: callers with the same key run one at a time, in arrival order; other
 * keys are not held up. The witness takes its origin's lock from reading the latest cosigned
 * size to storing the new one, which is what makes the compare-and-set atomic.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await task();
    } finally {
      release();
      // The last waiter cleans up, so idle origins cost no memory.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

// Group commit: work items of one key that arrive while a batch of that key runs wait, and the
// next batch takes all of them, so N concurrent operations cost a few runs instead of N. The
// first item waits for the others of the same turn of the event loop. Batches of a key run one
// at a time, in arrival order.

/** Runs one batch of a key; resolves with the items to run again, before those that waited. */
export type RunBatch<T> = (key: string, batch: T[]) => Promise<T[]>;

export class GroupCommit<T> {
  private readonly waiting = new Map<string, T[]>();

  constructor(private readonly run: RunBatch<T>) {}

  add(key: string, item: T): void {
    const queue = this.waiting.get(key);
    if (queue) return void queue.push(item);
    const started = [item];
    this.waiting.set(key, started);
    setImmediate(() => void this.drain(key, started));
  }

  private async drain(key: string, queue: T[]): Promise<void> {
    while (queue.length) queue.unshift(...(await this.run(key, queue.splice(0))));
    this.waiting.delete(key);
  }
}

// One way of building and tearing down the star lab (bench/star/lab.ts), as timed by run.ts.

/** Tears down what `up` made. */
export type Teardown = () => Promise<void>;

export interface Method {
  readonly name: string;
  /** Builds the star of n namespaces (work: a directory of this run's own); resolves with its teardown. */
  up(n: number, work: string): Promise<Teardown>;
  /** Untimed, before the first run: what the first run would otherwise pay once (caches). */
  warmUp?(work: string): Promise<void>;
}

/** Runs fn on every item, at most `limit` at a time; rejects with the first failure. */
export async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

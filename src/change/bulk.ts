/**
 * The one bulk/abort helper of the long-running verbs (bulk filter-secrets, probe --live, and the engine's and the
 * secret reader's worker pools): a bounded pool that stops starting work once aborted, and Ctrl-C handling.
 */

/**
 * Runs `work(item, index)` over `items`, at most `concurrency` at a time, started in order. Once `signal` is aborted
 * no new item is started; those in flight finish. Resolves when every started item is done; rejects with the first
 * error `work` throws (a caller that must go on records the failure inside `work`).
 */
export async function pool<T>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<void>, signal?: AbortSignal): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length && !signal?.aborted) {
      const i = next++
      await work(items[i]!, i)
    }
  }
  await Promise.all(Array.from({length: Math.min(Math.max(1, concurrency), items.length)}, worker))
}

/**
 * Ctrl-C (and the other `signals`, default SIGINT) during a long run: the first calls `first` (stop starting work,
 * clean up) and, with `exitAfter`, exits 130 once it is done; a second exits 130 at once. Returns the function that
 * removes the handlers (call it in a finally).
 */
export function onInterrupt(first: () => void | Promise<void>, opts: {signals?: NodeJS.Signals[]; exitAfter?: boolean} = {}): () => void {
  const signals = opts.signals ?? ['SIGINT']
  let interrupted = false
  const handler = () => {
    if (interrupted) process.exit(130)
    interrupted = true
    const done = Promise.resolve().then(first)
    if (opts.exitAfter) void done.finally(() => process.exit(130))
  }
  for (const s of signals) process.on(s, handler)
  return () => {
    for (const s of signals) process.off(s, handler)
  }
}

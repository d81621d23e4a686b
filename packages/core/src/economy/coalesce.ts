/**
 * Coalescing of concurrent work on one key (e.g. changes to one Route 53 hosted zone): entries that arrive
 * within a short window — and all that arrive while a flush for the key is running — go out together in
 * the next flush. One flush per key at a time, so under load batches grow by themselves (group commit)
 * while a lone request waits only the window.
 */
import type { CoalesceEntry } from '../solver/contract.js';

export type { CoalesceEntry };

interface Queue<I, R> {
  pending: Array<CoalesceEntry<I, R>>;
  running: boolean;
  timer: NodeJS.Timeout | undefined;
}

export class Coalescer {
  readonly #queues = new Map<string, Queue<any, any>>();

  constructor(private readonly onFlush: (key: string, size: number) => void = () => {}) {}

  /**
   * Adds `item` to the batch for `key`; `flush` (the same for every call with this key) runs on a batch and
   * settles each entry. Resolves or rejects with this entry's own result.
   */
  submit<I, R>(key: string, item: I, deadline: number, windowMs: number, flush: (entries: Array<CoalesceEntry<I, R>>) => Promise<void>): Promise<R> {
    let queue = this.#queues.get(key) as Queue<I, R> | undefined;
    if (!queue) this.#queues.set(key, (queue = { pending: [], running: false, timer: undefined }));
    const q = queue;
    return new Promise<R>((resolve, reject) => {
      let done = false;
      q.pending.push({
        item,
        deadline,
        settle: (r) => {
          if (done) return;
          done = true;
          if (r.ok) resolve(r.value);
          else reject(r.error);
        },
      });
      if (!q.running && !q.timer) {
        q.timer = setTimeout(() => void this.#run(key, q, flush), windowMs);
      }
    });
  }

  async #run<I, R>(key: string, q: Queue<I, R>, flush: (entries: Array<CoalesceEntry<I, R>>) => Promise<void>): Promise<void> {
    q.timer = undefined;
    q.running = true;
    try {
      while (q.pending.length > 0) {
        const batch = q.pending.splice(0, q.pending.length);
        this.onFlush(key, batch.length);
        try {
          await flush(batch);
        } catch (error) {
          for (const e of batch) e.settle({ ok: false, error });
        }
      }
    } finally {
      q.running = false;
      if (q.pending.length === 0) this.#queues.delete(key);
    }
  }
}

/**
 * Follow one object: read it, watch from its resourceVersion, re-read and re-watch when the watch ends,
 * and re-read every `resyncMs` regardless (a watch can hang silently behind a proxy). If watching is not
 * possible at all, this degrades to polling with backoff capped at `resyncMs`.
 */
import { KubeApiError } from './errors.js';

export interface WatchHandle {
  close(): void;
}

export type WatchEvent<T> =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: T }
  | { type: 'BOOKMARK'; resourceVersion?: string }
  | { type: 'ERROR'; error: KubeApiError };

export interface WatchObjectOptions<T extends { resourceVersion: string }> {
  /** Reads the object; throws KubeApiError with status 404 when it does not exist. */
  get(): Promise<T>;
  /** Starts a watch; `onDone` fires once when it ends. Resolves to a controller that aborts it. */
  watch(
    resourceVersion: string | undefined,
    onEvent: (event: WatchEvent<T>) => void,
    onDone: (err: KubeApiError | null) => void,
  ): Promise<AbortController>;
  onChange(object: T | null): void;
  resyncMs: number;
  onError?(err: KubeApiError): void;
}

const RECONNECT_MS = 1_000;

export function watchObject<T extends { resourceVersion: string }>(opts: WatchObjectOptions<T>): WatchHandle {
  let closed = false;
  /** undefined = not read yet, null = known absent. Changes are reported only when this moves. */
  let seen: string | null | undefined;
  let stopWatch: (() => void) | undefined;
  let wake: (() => void) | undefined;

  const emit = (object: T | null) => {
    const rv = object ? object.resourceVersion : null;
    if (closed || rv === seen) return;
    seen = rv;
    opts.onChange(object);
  };

  const read = async (): Promise<string | undefined> => {
    try {
      const object = await opts.get();
      emit(object);
      return object.resourceVersion;
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) {
        emit(null);
        return undefined;
      }
      throw err;
    }
  };

  const watchUntilEnd = (resourceVersion: string | undefined) =>
    new Promise<void>((resolve, reject) => {
      let ended = false;
      let controller: AbortController | undefined;
      const end = (err: KubeApiError | null) => {
        if (ended) return;
        ended = true;
        stopWatch = undefined;
        controller?.abort();
        // 410 Gone: the resourceVersion is too old; routine, just re-read.
        if (err && err.status !== 410) reject(err);
        else resolve();
      };
      stopWatch = () => end(null);
      opts
        .watch(
          resourceVersion,
          (event) => {
            if (event.type === 'ERROR') end(event.error);
            else if (event.type === 'DELETED') emit(null);
            else if (event.type === 'ADDED' || event.type === 'MODIFIED') emit(event.object);
          },
          end,
        )
        .then(
          (c) => {
            controller = c;
            if (ended) c.abort();
          },
          (err) => end(err instanceof KubeApiError ? err : new KubeApiError(String((err as Error)?.message ?? err), 0)),
        );
    });

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref(); // the server keeps the process alive, not this loop
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  const report = (err: unknown) => {
    if (!closed) opts.onError?.(err instanceof KubeApiError ? err : new KubeApiError(String((err as Error)?.message ?? err), 0));
  };

  void (async () => {
    let failures = 0;
    while (!closed) {
      try {
        const rv = await read();
        if (closed) break;
        await watchUntilEnd(rv);
        failures = 0;
      } catch (err) {
        failures++;
        report(err);
      }
      if (closed) break;
      await sleep(failures === 0 ? RECONNECT_MS : Math.min(opts.resyncMs, RECONNECT_MS * 2 ** (failures - 1)));
    }
  })();

  const resync = setInterval(() => void read().catch(report), opts.resyncMs);
  resync.unref();

  return {
    close() {
      if (closed) return;
      closed = true;
      clearInterval(resync);
      stopWatch?.();
      wake?.();
    },
  };
}

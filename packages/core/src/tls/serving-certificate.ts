/**
 * The serving certificate, possibly reloaded from files. cert-manager rotates the mounted Secret in place:
 * the kubelet writes the new files into a fresh directory and swaps the `..data` symlink, so we watch the
 * directory (fs.watch) and also poll slowly (watch events are lost on some volume types), compare content,
 * and switch only to a pair that loads. A broken pair is logged and the previous certificate stays.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { Logger } from '../solver/contract.js';
import type { KeyPairPem } from './certificates.js';

export interface ServingCertificate {
  current(): KeyPairPem;
  /** Called after `current()` changed; returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
  close(): void;
}

export function staticServingCertificate(pair: KeyPairPem): ServingCertificate {
  checkPair(pair);
  return { current: () => pair, onChange: () => () => {}, close: () => {} };
}

/** Throws when the certificate and key do not load as a TLS identity (bad PEM, key mismatch). */
export function checkPair(pair: KeyPairPem): void {
  createSecureContext({ cert: pair.certPem, key: pair.keyPem });
}

export interface WatchOptions {
  log: Logger;
  /** Fallback poll; watch events do not fire on every volume type. */
  pollIntervalMs?: number;
  /** Lets a multi-file swap finish before reading. */
  debounceMs?: number;
}

async function readPair(certFile: string, keyFile: string): Promise<KeyPairPem> {
  const [certPem, keyPem] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  return { certPem, keyPem };
}

/** Loads the pair (failing start-up if it does not load) and keeps it current. */
export async function watchServingCertificate(certFile: string, keyFile: string, options: WatchOptions): Promise<ServingCertificate> {
  const log = options.log;
  let pair: KeyPairPem;
  try {
    pair = await readPair(certFile, keyFile);
    checkPair(pair);
  } catch (err) {
    throw new Error(`cannot load serving certificate ${certFile} / key ${keyFile}: ${(err as Error).message}`, { cause: err });
  }
  const listeners = new Set<() => void>();
  let lastRejected = '';
  let timer: NodeJS.Timeout | undefined;
  let checking = false;
  let again = false;
  let closed = false;

  async function check(): Promise<void> {
    if (checking) {
      again = true;
      return;
    }
    checking = true;
    try {
      do {
        again = false;
        let next: KeyPairPem;
        try {
          next = await readPair(certFile, keyFile);
        } catch (err) {
          // Mid-swap or briefly missing: the next event or poll tries again.
          log.debug({ err: (err as Error).message }, 'serving certificate files not readable yet');
          continue;
        }
        if (closed || (next.certPem === pair.certPem && next.keyPem === pair.keyPem)) continue;
        try {
          checkPair(next);
        } catch (err) {
          const fingerprint = next.certPem + next.keyPem;
          if (fingerprint !== lastRejected) {
            lastRejected = fingerprint;
            log.warn({ certFile, keyFile, err: (err as Error).message }, 'new serving certificate does not load; keeping the previous one');
          }
          continue;
        }
        pair = next;
        lastRejected = '';
        log.info({ certFile }, 'serving certificate reloaded');
        for (const listener of listeners) listener();
      } while (again && !closed);
    } finally {
      checking = false;
    }
  }

  const schedule = () => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => void check(), options.debounceMs ?? 50);
  };

  const watchers: FSWatcher[] = [];
  for (const dir of new Set([dirname(certFile), dirname(keyFile)])) {
    try {
      const w = watch(dir, { persistent: false }, schedule);
      w.on('error', (err) => log.warn({ dir, err: err.message }, 'cannot watch serving certificate directory; relying on polling'));
      watchers.push(w);
    } catch (err) {
      log.warn({ dir, err: (err as Error).message }, 'cannot watch serving certificate directory; relying on polling');
    }
  }
  const poll = setInterval(() => void check(), options.pollIntervalMs ?? 10_000);
  poll.unref();

  return {
    current: () => pair,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      closed = true;
      clearTimeout(timer);
      clearInterval(poll);
      for (const w of watchers) w.close();
      listeners.clear();
    },
  };
}

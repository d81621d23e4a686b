/**
 * Long-running child processes (etcd, kube-apiserver, the webhook) that can never outlive the test:
 * each runs under `setpriv --pdeathsig SIGKILL` (the kernel kills it when its parent dies, even by SIGKILL)
 * and in its own process group (so stop() reaches anything it forked). Output goes to a log file whose
 * tail is attached to errors.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ManagedProcess {
  name: string;
  pid: number;
  logFile: string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
  /** True once the process has exited. */
  readonly done: boolean;
  /** The last lines of its log, for error messages. */
  logTail(lines?: number): string;
  /** SIGTERM to the process group, SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Prefix the command with these (e.g. `ip netns exec <ns>`); they run under the same death signal. */
  wrapper?: string[];
}

export function spawnManaged(name: string, command: string, args: string[], options: SpawnOptions): ManagedProcess {
  const fd = openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn('setpriv', ['--pdeathsig', 'SIGKILL', '--', ...(options.wrapper ?? []), command, ...args], {
      detached: true, // own process group: stop() signals the whole group
      stdio: ['ignore', fd, fd],
      env: options.env ?? process.env,
      cwd: options.cwd,
    });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  const pid = child.pid;
  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve(code ?? signal ?? 'unknown');
    });
    child.once('error', (err) => {
      done = true;
      resolve(`spawn error: ${err.message}`);
    });
  });
  const logTail = (lines = 25) => {
    try {
      return readFileSync(options.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  };
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      /* already gone */
    }
  };
  return {
    name,
    pid,
    logFile: options.logFile,
    exited,
    get done() {
      return done;
    },
    logTail,
    async stop(graceMs = 5000) {
      if (done) return signalGroup('SIGKILL'); // leftovers of the group, if any
      signalGroup('SIGTERM');
      const timer = sleep(graceMs).then(() => 'timeout' as const);
      if ((await Promise.race([exited, timer])) === 'timeout') {
        signalGroup('SIGKILL');
        await exited;
      }
    },
  };
}

/** Whether a process with this pid exists (EPERM: it does, another user's). Says nothing of what it runs. */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A TCP port nobody listens on right now at `host` (the OS picks it; tiny race until our server binds). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Polls `check` until it returns true; fails early when `proc` exits, and after `timeoutMs` with the
 * process's log tail so the reason is in the test output.
 */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  { timeoutMs, intervalMs = 250, proc }: { timeoutMs: number; intervalMs?: number; proc?: ManagedProcess },
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    if (proc?.done) throw new Error(`${proc.name} exited (${await proc.exited}) while waiting for ${what}:\n${proc.logTail()}`);
    try {
      if (await check()) return;
    } catch (err) {
      lastError = (err as Error).message;
    }
    if (Date.now() > deadline) {
      const tail = proc ? `\n--- ${proc.name} log (${proc.logFile}) ---\n${proc.logTail()}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError})` : ''}${tail}`);
    }
    await sleep(intervalMs);
  }
}

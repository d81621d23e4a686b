/**
 * The e2e cluster for people and scripts (tests use startCluster() directly):
 *
 *   bash test/e2e/cluster/up.sh             # foreground; prints the env, Ctrl-C stops and cleans up
 *   bash test/e2e/cluster/up.sh --detach    # returns once ready; then `source /tmp/dns01-e2e-cluster.env`
 *   bash test/e2e/cluster/down.sh           # stops a detached cluster
 *
 * The env file (DNS01_E2E_ENV, default /tmp/dns01-e2e-cluster.env) exports KUBECONFIG and DNS01_E2E_*.
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { binDir, startCluster } from './cluster.js';

const ENV_FILE = process.env.DNS01_E2E_ENV ?? '/tmp/dns01-e2e-cluster.env';

function envPid(): number | undefined {
  if (!existsSync(ENV_FILE)) return undefined;
  const m = /^export DNS01_E2E_PID=(\d+)$/m.exec(readFileSync(ENV_FILE, 'utf8'));
  return m ? Number(m[1]) : undefined;
}

/**
 * True when `pid` is still the `cli.ts up` process the env file names. A stale env file (its cluster was killed)
 * names a pid that, pids wrapping at 32768 here, may now belong to anything — a test worker, say — which down()
 * must never signal.
 */
function alive(pid: number): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.some((a) => a.endsWith('/cluster/cli.ts')) && argv.includes('up');
  } catch {
    return false;
  }
}

async function up(): Promise<void> {
  const started = Date.now();
  const cluster = await startCluster();
  const env = [
    `export KUBECONFIG=${cluster.kubeconfig}`,
    `export PATH=${binDir()}:$PATH`,
    `export DNS01_E2E_SERVER=${cluster.server}`,
    `export DNS01_E2E_DIR=${cluster.dir}`,
    `export DNS01_E2E_CA_FILE=${cluster.pki.files.caCert}`,
    `export DNS01_E2E_FRONT_PROXY_CA_FILE=${cluster.pki.files.frontProxyCaCert}`,
    `export DNS01_E2E_NETNS=${cluster.host.name}`,
    `export DNS01_E2E_HOST_IP=${cluster.host.ip}`,
    `export DNS01_E2E_HOST_GATEWAY=${cluster.host.hostIp}`,
    `export DNS01_E2E_PID=${process.pid}`,
    '',
  ].join('\n');
  writeFileSync(ENV_FILE, env);
  process.stdout.write(
    `# ${cluster.versions.kubeApiserver}, etcd ${cluster.versions.etcd.replace(/^etcd Version: /, '')}; ready in ${Date.now() - started} ms\n` +
      `# logs: ${cluster.logs.kubeApiserver}, ${cluster.logs.etcd}\n` +
      `# run a server in the test host: ip netns exec ${cluster.host.name} <cmd> (listen on ${cluster.host.ip})\n` +
      env +
      `# (also in ${ENV_FILE}; Ctrl-C / SIGTERM / down.sh stops everything)\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await cluster.stop();
  if (envPid() === process.pid) rmSync(ENV_FILE, { force: true });
}

/** Starts `up` in the background and waits until it wrote the env file for this run. */
async function upDetached(): Promise<void> {
  const previous = envPid();
  if (previous !== undefined && alive(previous)) {
    throw new Error(`a cluster is already running (pid ${previous}, ${ENV_FILE}); stop it with test/e2e/cluster/down.sh`);
  }
  rmSync(ENV_FILE, { force: true });
  const log = ENV_FILE.replace(/\.env$/, '') + '.log';
  const fd = openSync(log, 'w');
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), 'up'], {
    detached: true,
    stdio: ['ignore', fd, fd],
  });
  child.unref();
  let exited = false;
  child.once('exit', () => (exited = true));
  const deadline = Date.now() + 180_000;
  while (envPid() !== child.pid) {
    if (exited || Date.now() > deadline) {
      if (!exited) child.kill('SIGTERM');
      throw new Error(`cluster did not start; log ${log}:\n${readFileSync(log, 'utf8').slice(-4000)}`);
    }
    await sleep(250);
  }
  process.stdout.write(readFileSync(log, 'utf8'));
}

async function down(): Promise<void> {
  const pid = envPid();
  if (pid === undefined || !alive(pid)) {
    process.stdout.write('no cluster running\n');
    rmSync(ENV_FILE, { force: true });
    return;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 30_000;
  while (alive(pid) && Date.now() < deadline) await sleep(200);
  if (alive(pid)) process.kill(pid, 'SIGKILL'); // its watchdog cleans up after it
  process.stdout.write(`stopped cluster (pid ${pid})\n`);
}

const command = process.argv[2];
const run = command === 'up' ? (process.argv.includes('--detach') ? upDetached : up) : command === 'down' ? down : undefined;
if (!run) {
  process.stderr.write('usage: cli.ts up [--detach] | down\n');
  process.exit(2);
}
run().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  },
);

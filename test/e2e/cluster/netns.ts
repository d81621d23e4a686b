/**
 * A network-namespace test host: `ip netns` + a veth pair, host side 198.18.0.(4k+1)/30, namespace side
 * 198.18.0.(4k+2)/30 (RFC 2544 benchmark range, slot k). kube-apiserver refuses to proxy to loopback, so a
 * webhook it should reach through an Endpoints object must live on a real, non-loopback address: this one.
 *
 * More addresses ("pod IPs", for several replicas of one server behind a Service) come from 198.18.(64+k).0/24:
 * each is added inside the namespace and routed to it from the host (addAddress).
 *
 * Slots are claimed with an atomic mkdir under /run/dns01-e2e and record their owner's pid, so parallel runs
 * get different slots and a slot whose owner died (crashed test) is cleaned and reused.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pidExists } from './processes.js';

const run = promisify(execFile);
const SLOT_DIR = '/run/dns01-e2e';
const MAX_SLOTS = 64;

export interface TestHost {
  slot: number;
  /** Namespace name, for `ip netns exec <name> ...`. */
  name: string;
  /** The host's address on the veth: what processes inside the namespace use to reach the host. */
  hostIp: string;
  /** The namespace's address: where a server inside the namespace listens. */
  ip: string;
  hostVeth: string;
  /** The command prefix that runs a program inside the namespace. */
  exec: string[];
  /**
   * Adds another address inside the namespace, reachable from the host (and kube-apiserver) like `ip`: a pod IP.
   * Addresses are never reused within a host, as a new pod gets a new IP.
   */
  addAddress(): Promise<string>;
  remove(): Promise<void>;
}

async function ip(...args: string[]): Promise<string> {
  try {
    return (await run('ip', args)).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
  }
}

function names(slot: number) {
  return {
    ns: `dns01e2e-${slot}`,
    hostVeth: `d01e2e-${slot}-h`,
    nsVeth: `d01e2e-${slot}-n`,
    hostIp: `198.18.0.${slot * 4 + 1}`,
    ip: `198.18.0.${slot * 4 + 2}`,
  };
}

/** Removes a slot's namespace and veth, tolerating either being gone already. */
export async function removeSlot(slot: number): Promise<void> {
  const n = names(slot);
  await ip('link', 'del', n.hostVeth).catch(() => {}); // deleting one end removes the pair
  await ip('netns', 'del', n.ns).catch(() => {});
  rmSync(join(SLOT_DIR, `slot-${slot}`), { recursive: true, force: true });
}

function claimSlot(owner: number): number {
  mkdirSync(SLOT_DIR, { recursive: true });
  for (let slot = 0; slot < MAX_SLOTS; slot++) {
    const dir = join(SLOT_DIR, `slot-${slot}`);
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, 'owner'), String(owner));
      return slot;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new Error(`all ${MAX_SLOTS} test-host slots under ${SLOT_DIR} are in use by live processes`);
}

/** Frees slots whose owner process is gone (a crashed earlier run), so their addresses can be reused. */
export async function reapStaleSlots(): Promise<void> {
  for (let slot = 0; slot < MAX_SLOTS; slot++) {
    let owner: number;
    try {
      owner = Number(readFileSync(join(SLOT_DIR, `slot-${slot}`, 'owner'), 'utf8'));
    } catch {
      continue;
    }
    if (!pidExists(owner)) await removeSlot(slot);
  }
  // Namespaces without a slot directory (e.g. /run was cleared but the kernel objects remained).
  const listed = await ip('netns', 'list').catch(() => '');
  for (const m of listed.matchAll(/^dns01e2e-(\d+)/gm)) {
    const slot = Number(m[1]);
    try {
      readFileSync(join(SLOT_DIR, `slot-${slot}`, 'owner'));
    } catch {
      await removeSlot(slot);
    }
  }
}

/** Creates a test host owned by `owner` (default: this process); remove() undoes it. */
export async function createTestHost(owner = process.pid): Promise<TestHost> {
  await reapStaleSlots();
  const slot = claimSlot(owner);
  const n = names(slot);
  try {
    // Leftovers with our names (slot dir gone, interfaces not) would make `add` fail.
    await ip('link', 'del', n.hostVeth).catch(() => {});
    await ip('netns', 'del', n.ns).catch(() => {});
    await ip('netns', 'add', n.ns);
    await ip('link', 'add', n.hostVeth, 'type', 'veth', 'peer', 'name', n.nsVeth);
    await ip('link', 'set', n.nsVeth, 'netns', n.ns);
    await ip('addr', 'add', `${n.hostIp}/30`, 'dev', n.hostVeth);
    await ip('link', 'set', n.hostVeth, 'up');
    await ip('-n', n.ns, 'addr', 'add', `${n.ip}/30`, 'dev', n.nsVeth);
    await ip('-n', n.ns, 'link', 'set', n.nsVeth, 'up');
    await ip('-n', n.ns, 'link', 'set', 'lo', 'up');
  } catch (err) {
    await removeSlot(slot);
    throw err;
  }
  let extra = 0;
  return {
    slot,
    name: n.ns,
    hostIp: n.hostIp,
    ip: n.ip,
    hostVeth: n.hostVeth,
    exec: ['ip', 'netns', 'exec', n.ns],
    async addAddress() {
      if (extra >= 254) throw new Error(`test host ${n.ns}: no more extra addresses`);
      const address = `198.18.${64 + slot}.${++extra}`;
      // Both go with the namespace and the veth on remove(): nothing else to clean up.
      await ip('-n', n.ns, 'addr', 'add', `${address}/32`, 'dev', n.nsVeth);
      await ip('route', 'add', `${address}/32`, 'dev', n.hostVeth);
      return address;
    },
    remove: () => removeSlot(slot),
  };
}

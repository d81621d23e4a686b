/**
 * `dns01-webhook check`: is a TXT value visible? Asks a given nameserver, or — like cert-manager's propagation
 * check — every authoritative nameserver of the name (found through the system resolver's NS lookups).
 */
import { promises as dnsPromises, getServers } from 'node:dns';
import { isIP } from 'node:net';
import { queryTxt, type TxtResult } from '../dns/client.js';
import { toFqdn, unFqdn } from '../solver/names.js';
import { EXIT, parseFlags, required, seconds, UsageError } from './usage.js';

export const CHECK_HELP = `Usage: dns01-webhook check --fqdn <fqdn> --key <key> [--nameserver host:port] [--wait] [--timeout s]

Reports whether the TXT value <key> is visible at <fqdn>.

  --fqdn <fqdn>             the TXT record name, e.g. _acme-challenge.example.com.
  --key <key>               the value to look for
  --nameserver <host:port>  ask this server (repeatable). Default: the name's authoritative nameservers,
                            found by NS lookups through the system resolver (falls back to the system
                            resolver's own servers when no NS record is found)
  --wait                    poll every --interval seconds until visible everywhere or --timeout passes
  --interval <s>            poll interval with --wait (default 2)
  --timeout <s>             total time with --wait, or per query without (default 60 with --wait, 5 without)

Exit codes: 0 visible on every server asked, 1 not visible (the values that are there are listed), 2 usage error.`;

const FLAGS = {
  fqdn: { type: 'string' },
  key: { type: 'string' },
  nameserver: { type: 'string', multiple: true },
  wait: { type: 'boolean' },
  interval: { type: 'string' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const withPort = (host: string) => (isIP(host) === 6 ? `[${host}]:53` : `${host}:53`);

/** Walks up from the name to the closest enclosing zone that has NS records, and resolves their addresses. */
export async function authoritativeServers(fqdn: string): Promise<{ zone: string; servers: string[] } | undefined> {
  const labels = unFqdn(fqdn).split('.');
  for (let i = 0; i < labels.length; i++) {
    const candidate = labels.slice(i).join('.');
    let hosts: string[];
    try {
      hosts = await dnsPromises.resolveNs(candidate);
    } catch {
      continue; // no NS here (ENODATA/ENOTFOUND): try the parent
    }
    const addresses = (
      await Promise.all(hosts.map((h) => dnsPromises.resolve4(h).catch(() => [] as string[])))
    ).flat();
    if (addresses.length > 0) return { zone: `${candidate}.`, servers: [...new Set(addresses)].map(withPort) };
  }
  return undefined;
}

interface ServerView {
  server: string;
  result?: TxtResult;
  error?: string;
}

const visibleOn = (v: ServerView, key: string) => v.result?.values.includes(key) === true;

function describe(v: ServerView): string {
  if (v.error) return `${v.server}: query failed: ${v.error}`;
  const r = v.result!;
  const values = r.values.length ? r.values.map((x) => JSON.stringify(x)).join(', ') : '(no TXT values)';
  return `${v.server}: ${r.rcode}${r.authoritative ? '' : ' (not authoritative)'} ${values}`;
}

export async function runCheck(argv: string[]): Promise<number> {
  const values = parseFlags('check', argv, FLAGS);
  if (values.help) {
    process.stdout.write(`${CHECK_HELP}\n`);
    return EXIT.ok;
  }
  const fqdn = toFqdn(required('check', values, 'fqdn', 'the TXT record name, e.g. _acme-challenge.example.com.'));
  const key = required('check', values, 'key', 'the TXT value to look for');
  const wait = values.wait === true;
  const timeoutS = seconds('check', 'timeout', values.timeout, wait ? 60 : 5);
  const intervalS = seconds('check', 'interval', values.interval, 2);
  if (values.interval !== undefined && !wait) throw new UsageError('--interval only makes sense with --wait', 'check');

  let servers = values.nameserver ?? [];
  if (servers.length === 0) {
    const found = await authoritativeServers(fqdn);
    if (found) {
      process.stderr.write(`asking the authoritative nameservers of ${found.zone}: ${found.servers.join(', ')}\n`);
      servers = found.servers;
    } else {
      servers = getServers().map((s) => (isIP(s) ? withPort(s) : s));
      process.stderr.write(`no NS records found for ${fqdn} or its parents; asking the system resolver: ${servers.join(', ')}\n`);
    }
    if (servers.length === 0) {
      process.stderr.write('no nameserver to ask: pass --nameserver host:port\n');
      return EXIT.failure;
    }
  }
  for (const s of servers) {
    if (!/^(\[[^\]]+\]|[^:\s]+)(:\d{1,5})?$/.test(s) && isIP(s) !== 6) {
      throw new UsageError(`--nameserver "${s}" is not host:port`, 'check');
    }
  }

  const perQueryMs = (wait ? Math.min(timeoutS, 5) : timeoutS) * 1000;
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const views: ServerView[] = await Promise.all(
      servers.map(async (server) => {
        try {
          return { server, result: await queryTxt(fqdn, { server, timeoutMs: perQueryMs }) };
        } catch (err) {
          return { server, error: (err as Error).message };
        }
      }),
    );
    const visible = views.every((v) => visibleOn(v, key));
    if (visible || !wait || Date.now() + intervalS * 1000 > deadline) {
      const out = visible ? process.stdout : process.stderr;
      out.write(`TXT "${key}" at ${fqdn} is ${visible ? 'visible' : 'NOT visible'}${servers.length > 1 ? (visible ? ' on every server' : ' on every server yet') : ''}\n`);
      for (const v of views) out.write(`  ${visibleOn(v, key) ? 'yes' : 'no '} ${describe(v)}\n`);
      return visible ? EXIT.ok : EXIT.failure;
    }
    await new Promise((r) => setTimeout(r, intervalS * 1000));
  }
}

/**
 * Makes a provider's real API hostname (e.g. dnspod.tencentcloudapi.com) lead to an emulator, for processes in
 * the e2e test host only — so a solver config without an `endpoint` key (an existing user's Issuer, verbatim)
 * still talks to the emulator, with the solver's default HTTPS URL unchanged:
 *
 * - name resolution: `ip netns exec` bind-mounts /etc/netns/<ns>/hosts over /etc/hosts for the processes it
 *   starts, so a hosts file there maps the name to the host side of the veth (write it before starting them);
 * - HTTPS: a TLS front on <hostIp>:443 with a certificate for the name from a CA made here, forwarding the
 *   plain HTTP requests (Host header unchanged, so signatures still verify) to the emulator. The webhook
 *   trusts that CA through NODE_EXTRA_CA_CERTS (read by Node at start-up; it adds to, not replaces, the roots).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:https';
import { join } from 'node:path';
import { createCA, issueCertificate } from '@dns01-webhook/core/testing';

export interface HostsOverride {
  /** The file written (/etc/netns/<ns>/hosts). */
  file: string;
  remove(): void;
}

/** Maps `names` to `ip` in the hosts file the namespace's `ip netns exec` processes see (plus /etc/hosts' lines). */
export function overrideHosts(netns: string, ip: string, names: string[]): HostsOverride {
  const dir = join('/etc/netns', netns);
  mkdirSync(dir, { recursive: true });
  let base = '';
  try {
    base = readFileSync('/etc/hosts', 'utf8');
  } catch {
    base = '127.0.0.1 localhost\n::1 localhost\n';
  }
  const file = join(dir, 'hosts');
  writeFileSync(file, `${base.trimEnd()}\n# dns01-webhook e2e: provider API → emulator\n${ip} ${names.join(' ')}\n`);
  const remove = () => {
    process.off('exit', remove);
    rmSync(dir, { recursive: true, force: true });
  };
  // A crashed run must not leave the override for the next process that gets this namespace's slot.
  process.once('exit', remove);
  return { file, remove };
}

export interface TlsFront {
  /** `https://<name>` — what the solver's default endpoint already is. */
  url: string;
  /** PEM of the CA that signed the front's certificate (give it to NODE_EXTRA_CA_CERTS). */
  caPem: string;
  /** Host headers of the requests forwarded so far (proves which path a request took). */
  readonly forwardedHosts: string[];
  close(): Promise<void>;
}

/** HTTPS on `listenHost:port` for `serverName`, forwarding every request to the plain-HTTP `target` base URL. */
export async function startTlsFront(options: { serverName: string; listenHost: string; port?: number; target: string }): Promise<TlsFront> {
  const ca = await createCA('dns01-e2e-provider-api-ca', { validDays: 1 });
  const cert = await issueCertificate(ca, { commonName: options.serverName, dnsNames: [options.serverName], usage: 'server', validDays: 1 });
  const target = new URL(options.target);
  const forwardedHosts: string[] = [];
  const server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    forwardedHosts.push(String(req.headers.host ?? ''));
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`tls front: upstream ${options.target}: ${err.message}`);
    });
    req.pipe(upstream);
  });
  const port = options.port ?? 443;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, options.listenHost, () => resolve());
  });
  return {
    url: `https://${options.serverName}${port === 443 ? '' : `:${port}`}`,
    caPem: ca.certPem,
    forwardedHosts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

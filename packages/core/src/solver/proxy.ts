/**
 * The process's proxy settings (HTTPS_PROXY / HTTP_PROXY / NO_PROXY, either case), for solvers to use only
 * when a challenge allows ambient settings. Solvers never let an SDK read these variables itself: SDKs
 * differ (some read only http_proxy, some none, none honour NO_PROXY the same way), and a namespaced
 * Issuer must not inherit the pod's environment.
 */

function env(name: string, source: NodeJS.ProcessEnv): string | undefined {
  const value = source[name] ?? source[name.toLowerCase()];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** True when NO_PROXY lists the host: `*`, an exact host, a `.suffix` / `suffix` domain, or `host:port`. */
function excluded(url: URL, noProxy: string): boolean {
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return noProxy
    .split(/[\s,]+/)
    .filter(Boolean)
    .some((raw) => {
      const entry = raw.toLowerCase();
      if (entry === '*') return true;
      const [name, entryPort] = entry.startsWith('[') ? [entry.slice(1, entry.indexOf(']')), entry.split(']:')[1]] : entry.split(':');
      if (entryPort !== undefined && entryPort !== port) return false;
      const domain = (name ?? '').replace(/^\*?\./, '');
      return host === domain || host.endsWith(`.${domain}`);
    });
}

/**
 * The proxy URL the environment asks for when calling `target`, or undefined: HTTPS_PROXY for https targets,
 * HTTP_PROXY for http targets, unless NO_PROXY excludes the host.
 */
export function environmentProxy(target: string, source: NodeJS.ProcessEnv = process.env): string | undefined {
  const url = new URL(target);
  const proxy = env(url.protocol === 'https:' ? 'HTTPS_PROXY' : 'HTTP_PROXY', source);
  if (proxy === undefined) return undefined;
  const noProxy = env('NO_PROXY', source);
  return noProxy !== undefined && excluded(url, noProxy) ? undefined : proxy;
}

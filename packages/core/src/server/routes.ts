/** Which of the server's few endpoints a request path names. */
import { API_VERSION } from './discovery.js';

export type HealthCheck = 'healthz' | 'livez' | 'readyz';

export type Route =
  | { kind: 'health'; check: HealthCheck }
  | { kind: 'discovery'; document: 'groupList' | 'group' | 'resourceList' }
  | { kind: 'solver'; solverName: string }
  | { kind: 'openapi' }
  | { kind: 'unknown' };

/** Label for `dns01_webhook_http_requests_total{path}`: bounded, never the raw path. */
export type PathClass = 'health' | 'discovery' | 'solver' | 'openapi' | 'other';

export function pathClass(route: Route): PathClass {
  return route.kind === 'unknown' ? 'other' : route.kind;
}

const HEALTH = new Set<string>(['healthz', 'livez', 'readyz']);

export function routeOf(pathname: string, group: string): Route {
  // `/apis/` and `/apis` are the same document for Kubernetes clients.
  const path = pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname;
  const parts = path.split('/').slice(1);
  if (parts.length === 1 && HEALTH.has(parts[0]!)) return { kind: 'health', check: parts[0] as HealthCheck };
  if (parts[0] === 'openapi') return { kind: 'openapi' };
  if (parts[0] !== 'apis') return { kind: 'unknown' };
  if (parts.length === 1) return { kind: 'discovery', document: 'groupList' };
  if (parts[1] !== group) return { kind: 'unknown' };
  if (parts.length === 2) return { kind: 'discovery', document: 'group' };
  if (parts[2] !== API_VERSION) return { kind: 'unknown' };
  if (parts.length === 3) return { kind: 'discovery', document: 'resourceList' };
  if (parts.length === 4 && parts[3] !== '') {
    const solverName = safeDecode(parts[3]!);
    if (solverName !== undefined) return { kind: 'solver', solverName };
  }
  return { kind: 'unknown' };
}

function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

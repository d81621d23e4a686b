/**
 * Seams between the HTTP server and delegated authn/authz (k8s.io/apiserver's model, see
 * webhook-protocol.md §5). The server calls `authenticate` then `authorize` for every non-health request.
 */
import type { IncomingMessage } from 'node:http';

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra: Record<string, string[]>;
}

/** `null` = not authenticated (→ 401 Status). Throws only on infrastructure failure (→ 500/503 Status). */
export interface Authenticator {
  authenticate(req: IncomingMessage): Promise<UserInfo | null>;
}

export type AuthorizationAttributes =
  | { kind: 'resource'; verb: string; group: string; version: string; resource: string }
  | { kind: 'nonResource'; verb: string; path: string };

export interface Decision {
  allowed: boolean;
  reason?: string;
}

export interface Authorizer {
  authorize(user: UserInfo, attributes: AuthorizationAttributes): Promise<Decision>;
}

/**
 * Client CA material the TLS layer must advertise in its CertificateRequest (Go clients only send a
 * client certificate that chains to an advertised CA). Changes when the
 * `kube-system/extension-apiserver-authentication` ConfigMap changes.
 */
export interface ClientCaSource {
  /** PEM bundle: client-ca-file + requestheader-client-ca-file (may be empty). */
  caBundle(): string;
  /** Subscribe to changes; returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
}

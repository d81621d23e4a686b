/**
 * Who may call us, as kube-apiserver publishes it in ConfigMap kube-system/extension-apiserver-authentication
 * (the same source k8s.io/apiserver's delegating authentication reads): the client CA, and the front-proxy
 * ("requestheader") CA with its allowed names and header names. Flags may override the CA files.
 */
import type { X509Certificate } from 'node:crypto';
import { parseCertificates } from './pki.js';

export const AUTH_CONFIGMAP_NAMESPACE = 'kube-system';
export const AUTH_CONFIGMAP_NAME = 'extension-apiserver-authentication';

export interface CaBundle {
  pem: string;
  certificates: X509Certificate[];
}

export interface RequestHeaderConfig {
  ca: CaBundle;
  /** Front-proxy certificate CNs accepted; empty = any certificate from the CA. */
  allowedNames: string[];
  usernameHeaders: string[];
  uidHeaders: string[];
  groupHeaders: string[];
  extraHeaderPrefixes: string[];
}

export interface AuthenticationConfig {
  clientCA: CaBundle | null;
  requestHeader: RequestHeaderConfig | null;
}

/** Raw PEM/list values before parsing; each field undefined when its source does not set it. */
export interface AuthenticationSources {
  clientCaPem?: string;
  requestheaderCaPem?: string;
  allowedNames?: string[];
  usernameHeaders?: string[];
  uidHeaders?: string[];
  groupHeaders?: string[];
  extraHeaderPrefixes?: string[];
}

function jsonList(data: Record<string, string>, key: string): string[] | undefined {
  const raw = data[key];
  if (raw === undefined || raw.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error(`ConfigMap ${AUTH_CONFIGMAP_NAMESPACE}/${AUTH_CONFIGMAP_NAME} key ${key} is not a JSON array: ${raw.slice(0, 100)}`);
  }
  if (!Array.isArray(parsed) || !parsed.every((v) => typeof v === 'string')) {
    throw new Error(`ConfigMap ${AUTH_CONFIGMAP_NAMESPACE}/${AUTH_CONFIGMAP_NAME} key ${key} must be a JSON array of strings`);
  }
  return parsed;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value !== undefined && value.trim() !== '' ? value : undefined;
}

export function sourcesFromConfigMap(data: Record<string, string>): AuthenticationSources {
  const out: AuthenticationSources = {};
  const set = <K extends keyof AuthenticationSources>(key: K, value: AuthenticationSources[K] | undefined) => {
    if (value !== undefined) out[key] = value;
  };
  set('clientCaPem', nonEmpty(data['client-ca-file']));
  set('requestheaderCaPem', nonEmpty(data['requestheader-client-ca-file']));
  set('allowedNames', jsonList(data, 'requestheader-allowed-names'));
  set('usernameHeaders', jsonList(data, 'requestheader-username-headers'));
  set('uidHeaders', jsonList(data, 'requestheader-uid-headers'));
  set('groupHeaders', jsonList(data, 'requestheader-group-headers'));
  set('extraHeaderPrefixes', jsonList(data, 'requestheader-extra-headers-prefix'));
  return out;
}

/** `overrides` wins field by field (flags over ConfigMap), as in the Go framework. */
export function buildAuthenticationConfig(base: AuthenticationSources, overrides: AuthenticationSources): AuthenticationConfig {
  const pick = <K extends keyof AuthenticationSources>(key: K) => overrides[key] ?? base[key];
  const clientCaPem = pick('clientCaPem');
  const requestheaderCaPem = pick('requestheaderCaPem');
  return {
    clientCA: clientCaPem ? { pem: clientCaPem, certificates: parseCertificates(clientCaPem, 'client-ca-file') } : null,
    requestHeader: requestheaderCaPem
      ? {
          ca: { pem: requestheaderCaPem, certificates: parseCertificates(requestheaderCaPem, 'requestheader-client-ca-file') },
          allowedNames: pick('allowedNames') ?? [],
          usernameHeaders: pick('usernameHeaders') ?? ['X-Remote-User'],
          uidHeaders: pick('uidHeaders') ?? [],
          groupHeaders: pick('groupHeaders') ?? ['X-Remote-Group'],
          extraHeaderPrefixes: pick('extraHeaderPrefixes') ?? ['X-Remote-Extra-'],
        }
      : null,
  };
}

const withNewline = (pem: string) => (pem.endsWith('\n') ? pem : `${pem}\n`);

/** What the TLS layer advertises as acceptable client CAs: both bundles. */
export function caBundleOf(config: AuthenticationConfig): string {
  return [config.clientCA?.pem, config.requestHeader?.ca.pem]
    .filter((p): p is string => !!p)
    .map(withNewline)
    .join('');
}

/**
 * cert-manager's ChallengePayload (webhook.acme.cert-manager.io/v1alpha1): parse and validate the
 * request body, and build the 201 answer that echoes it with a `response` (webhook-protocol.md §2–3).
 */
import { z } from 'zod';
import type { ChallengeRequest } from '../solver/contract.js';
import type { ChallengeOutcome } from '../challenge/execute.js';
import { challengeRequestProblem } from '../solver/names.js';

export const PAYLOAD_API_VERSION = 'webhook.acme.cert-manager.io/v1alpha1';
export const PAYLOAD_KIND = 'ChallengePayload';

const REQUIRED = ['action', 'key', 'resolvedFQDN', 'resolvedZone', 'resourceNamespace'] as const;

const requestSchema = z.object({
  // cert-manager sends uid "" (it is not a real Kubernetes request); echo whatever arrives.
  uid: z.string().default(''),
  action: z.enum(['Present', 'CleanUp']),
  type: z.string().default(''),
  dnsName: z.string().default(''),
  key: z.string().min(1),
  resourceNamespace: z.string().min(1),
  resolvedFQDN: z.string().min(1),
  resolvedZone: z.string().min(1),
  allowAmbientCredentials: z.boolean().default(false),
  // Arbitrary JSON (the Issuer's webhook.config); absent when the Issuer has none.
  config: z.unknown().optional(),
});

/**
 * Deepest accepted nesting of objects/arrays in a body. A ChallengePayload's config is a few levels deep;
 * the bound keeps every recursive step after parsing (validation messages, the JSON echo, logging) far from
 * the stack limit.
 */
export const MAX_JSON_DEPTH = 64;
/**
 * Most JSON values (objects, arrays and their elements) in a body. A real payload has a few dozen; the bound
 * keeps what a 1 MiB body parses into small: 1 MiB of `[{},{},…]` would otherwise become ~20 MB of heap.
 */
export const MAX_JSON_VALUES = 10_000;

/**
 * A linear scan of the raw text, before JSON.parse: why its structure is too deep or too large, or undefined.
 * Brackets and commas inside strings do not count; malformed JSON is left for JSON.parse to describe.
 */
export function jsonShapeProblem(text: string, maxDepth = MAX_JSON_DEPTH, maxValues = MAX_JSON_VALUES): string | undefined {
  let depth = 0;
  let values = 1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) return `request body nests objects/arrays deeper than ${maxDepth} levels (at offset ${i})`;
      if (++values > maxValues) return `request body has more than ${maxValues} JSON values (at offset ${i}); a ChallengePayload has a few dozen`;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    } else if (c === 0x2c) {
      if (++values > maxValues) return `request body has more than ${maxValues} JSON values (at offset ${i}); a ChallengePayload has a few dozen`;
    }
  }
  return undefined;
}

/** A value for an error message, at most ~100 characters. */
function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 100 ? `${text.slice(0, 100)}… (${text.length} characters)` : text;
}

export type ParsedPayload =
  | { ok: true; request: ChallengeRequest; body: Record<string, unknown> }
  | { ok: false; message: string };

function describeIssue(issue: z.core.$ZodIssue, raw: Record<string, unknown>): string {
  const field = String(issue.path[0] ?? '');
  const path = ['request', ...issue.path.map(String)].join('.');
  if (raw[field] === undefined || raw[field] === null) return `${path} is required`;
  if (field === 'action') return `${path} must be "Present" or "CleanUp", got ${preview(raw[field])}`;
  if (issue.code === 'too_small') return `${path} must not be empty`;
  if (issue.code === 'invalid_type') return `${path} must be a ${issue.expected}, got ${Array.isArray(raw[field]) ? 'array' : typeof raw[field]}`;
  return `${path}: ${issue.message}`;
}

/** Parses the raw body text. Every failure message names what is wrong, for a 400 Status. */
export function parseChallengePayload(text: string): ParsedPayload {
  if (text.trim() === '') return { ok: false, message: 'empty request body: expected a ChallengePayload' };
  const shape = jsonShapeProblem(text);
  if (shape) return { ok: false, message: shape };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    return { ok: false, message: `request body is not valid JSON: ${(err as Error).message}` };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, message: 'request body must be a JSON object (a ChallengePayload)' };
  }
  const obj = body as Record<string, unknown>;
  // cert-manager does not send apiVersion/kind; when present they must name ChallengePayload.
  if (obj.apiVersion !== undefined && obj.apiVersion !== PAYLOAD_API_VERSION) {
    return { ok: false, message: `unsupported apiVersion ${preview(obj.apiVersion)}: expected "${PAYLOAD_API_VERSION}"` };
  }
  if (obj.kind !== undefined && obj.kind !== PAYLOAD_KIND) {
    return { ok: false, message: `unsupported kind ${preview(obj.kind)}: expected "${PAYLOAD_KIND}"` };
  }
  const raw = obj.request;
  if (raw === undefined || raw === null) return { ok: false, message: 'request body has no "request": expected a ChallengePayload' };
  if (typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, message: '"request" must be a JSON object' };
  const rawRequest = raw as Record<string, unknown>;
  const cleaned = rawRequest.config === null ? { ...rawRequest, config: undefined } : rawRequest;
  const parsed = requestSchema.safeParse(cleaned);
  if (!parsed.success) {
    // Report missing required fields in the protocol's order, then anything else.
    const issues = [...parsed.error.issues].sort(
      (a, b) => rank(String(a.path[0])) - rank(String(b.path[0])),
    );
    return { ok: false, message: `invalid ChallengePayload: ${issues.map((i) => describeIssue(i, rawRequest)).join('; ')}` };
  }
  // DNS limits before any provider call: a name no DNS can hold must not become a walk of API lookups.
  const names = challengeRequestProblem(parsed.data);
  if (names) return { ok: false, message: `invalid ChallengePayload: request.${names}` };
  return { ok: true, request: parsed.data as ChallengeRequest, body: obj };
}

function rank(field: string): number {
  const i = (REQUIRED as readonly string[]).indexOf(field);
  return i === -1 ? REQUIRED.length : i;
}

/** The 201 body: the payload as received, typed, with the outcome as `response` (never omitted). */
export function challengeResponse(body: Record<string, unknown>, request: ChallengeRequest, outcome: ChallengeOutcome): Record<string, unknown> {
  const response = outcome.success
    ? { uid: request.uid, success: true }
    : { uid: request.uid, success: false, status: { status: 'Failed', message: outcome.message } };
  return { ...body, apiVersion: PAYLOAD_API_VERSION, kind: PAYLOAD_KIND, response };
}

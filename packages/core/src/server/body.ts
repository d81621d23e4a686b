/**
 * Reading the ChallengePayload body: JSON only, at most `limit` bytes, and an early answer when it is too
 * large. raw-body (the reader under express's own body parsers) does the streaming read: it refuses a
 * declared Content-Length over the limit before reading a byte, stops at the first chunk past the limit and
 * pauses the stream. express.json() is not used because on any read error it first reads off the rest of
 * the request (body-parser's `dump`), so a 413 for a huge or trickled body would wait for all of it.
 */
import type { IncomingMessage } from 'node:http';
import getRawBody from 'raw-body';
import { StatusError } from './status.js';

/** `application/json` with any parameters; anything else is 415. */
export function isJsonMediaType(header: string): boolean {
  return header.split(';')[0]!.trim().toLowerCase() === 'application/json';
}

/**
 * Throws a StatusError (415) unless the body is JSON. No Content-Type (or an empty one) counts as JSON, as in
 * k8s.io/apiserver (it falls back to its first serializer, JSON): `kubectl create --raw -f payload.json` sends none.
 */
export function assertJsonContentType(req: IncomingMessage): void {
  const header = req.headers['content-type'];
  if (header !== undefined && header.trim() !== '' && !isJsonMediaType(header)) {
    throw new StatusError(415, `unsupported media type ${JSON.stringify(header ?? '')}: send application/json`);
  }
}

/** Thrown when the client went away mid-body: there is nobody to answer. */
export class ClientAbortedError extends Error {
  constructor() {
    super('client closed the connection while sending the request body');
  }
}

interface RawBodyError {
  type?: string;
}

/**
 * The body as UTF-8 text (the charset parameter is ignored, as kube-apiserver does), or a StatusError:
 * 413 over the limit (declared or streamed), 400 when the body is shorter than its Content-Length.
 */
export async function readBodyText(req: IncomingMessage, limit: number): Promise<string> {
  const declared = req.headers['content-length'];
  try {
    // Bytes, decoded here: raw-body's `encoding` goes through iconv-lite (≈ 0.6% of a challenge's CPU). A
    // leading byte order mark is dropped, as iconv-lite did.
    const text = (await getRawBody(req, { limit, length: declared })).toString('utf8');
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  } catch (err) {
    switch ((err as RawBodyError).type) {
      case 'entity.too.large':
        throw new StatusError(413, `request body larger than ${limit} bytes`);
      case 'request.aborted':
        throw new ClientAbortedError();
      case 'request.size.invalid':
        throw new StatusError(400, `request body shorter than its Content-Length (${declared} bytes)`);
      default:
        throw err;
    }
  }
}

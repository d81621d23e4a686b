/** TXT quote normalisation and SDK error mapping, with the SDK's real error classes. */
import { describe, expect, it } from 'vitest';
import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'cloudflare';
import { txtValue } from '../src/quote.js';
import { retryAfterMs, toSolverError } from '../src/errors.js';

describe('txtValue', () => {
  it.each([
    ['abc', 'abc'],
    ['"abc"', 'abc'],
    ['"ab" "cd"', 'abcd'],
    ['"a\\"b"', 'a"b'],
    ['"unterminated', '"unterminated'],
    ['"a" b', '"a" b'],
    ['a "b"', 'a "b"'],
    ['""', ''],
  ])('%s → %s', (content, value) => expect(txtValue(content)).toBe(value));
});

const apiError = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  APIError.generate(status, body as object, undefined, new Headers(headers));

describe('toSolverError', () => {
  it('81057 and 81058 become RecordExistsError when creating', () => {
    for (const code of [81057, 81058]) {
      const err = toSolverError(apiError(400, { success: false, errors: [{ code, message: 'x' }] }), 'creating', 'exists');
      expect(err.name).toBe('RecordExistsError');
      expect(err.code).toBe(String(code));
    }
  });

  it('81044 and any 404 become RecordNotFoundError when deleting, but not other 400s', () => {
    expect(toSolverError(apiError(404, { success: false, errors: [{ code: 81044, message: 'Record does not exist.' }] }), 'deleting', 'not-found').name).toBe('RecordNotFoundError');
    expect(toSolverError(apiError(404, { success: false, errors: [] }), 'deleting', 'not-found').name).toBe('RecordNotFoundError');
    expect(toSolverError(apiError(400, { success: false, errors: [{ code: 1004, message: 'x' }] }), 'deleting', 'not-found').name).toBe('SolverError');
  });

  it('429 is retryable with Retry-After (seconds, HTTP date, or retry-after-ms)', () => {
    const err = toSolverError(apiError(429, { success: false, errors: [{ code: 971, message: 'Please wait' }] }, { 'retry-after': '7' }), 'listing');
    expect([err.retryable, err.retryAfterMs, err.code]).toEqual([true, 7000, '971']);
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '250' }))).toBe(250);
    const inTwoSeconds = new Date(Date.now() + 2000).toUTCString();
    expect(retryAfterMs(new Headers({ 'retry-after': inTwoSeconds }))).toBeGreaterThan(0);
    expect(retryAfterMs(new Headers({}))).toBeUndefined();
  });

  it('5xx and connection trouble are retryable; 4xx are not', () => {
    expect(toSolverError(apiError(503, undefined), 'x').retryable).toBe(true);
    expect(toSolverError(new APIConnectionError({ message: 'boom' }), 'x').retryable).toBe(true);
    expect(toSolverError(new APIConnectionTimeoutError(), 'x').message).toContain('did not answer within');
    expect(toSolverError(apiError(403, { success: false, errors: [{ code: 10000, message: 'Authentication error' }] }), 'x').retryable).toBe(false);
  });

  it('names the code and its error_chain and says what to do', () => {
    const err = toSolverError(
      apiError(400, { success: false, errors: [{ code: 1004, message: 'DNS Validation Error', error_chain: [{ code: 9021, message: 'TTL must be between 60 and 86400 seconds, or 1 for Automatic.' }] }] }),
      'creating TXT x (ttl 30)',
    );
    expect(err.code).toBe('1004/9021');
    expect(err.message).toBe(
      'cloudflare: creating TXT x (ttl 30): HTTP 400, error 1004 DNS Validation Error (9021 TTL must be between 60 and 86400 seconds, or 1 for Automatic.) — set config.ttl to 1 (automatic) or a value from 60 to 86400',
    );
  });
});

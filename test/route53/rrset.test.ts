/** The pure part of the route53 solver: TXT quoting and which change batch Present/CleanUp send. */
import { describe, expect, it } from 'vitest';
import { cleanUpChanges, presentChanges, quoteTxt, unquoteTxt } from '@dns01-webhook/solver-route53';

const t = { zoneId: 'Z1', fqdn: '_acme-challenge.example.test.', key: 'KEY', ttl: 10 };
const simple = (values: string[], ttl = 300) => ({ Name: t.fqdn, Type: 'TXT' as const, TTL: ttl, ResourceRecords: values.map((Value) => ({ Value })) });
const multi = (v: string) => ({ Name: t.fqdn, Type: 'TXT' as const, TTL: 10, SetIdentifier: v, MultiValueAnswer: true, ResourceRecords: [{ Value: `"${v}"` }] });

describe('TXT quoting', () => {
  it('quotes, escapes and splits at 255; unquoting reverses it', () => {
    expect(quoteTxt('abc')).toBe('"abc"');
    expect(quoteTxt('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(quoteTxt('')).toBe('""');
    expect(quoteTxt('x'.repeat(256))).toBe(`"${'x'.repeat(255)}" "x"`);
    for (const v of ['abc', 'a"b\\c', 'x'.repeat(600)]) expect(unquoteTxt(quoteTxt(v))).toBe(v);
    expect(unquoteTxt('"a\\101b"')).toBe('aAb'); // Route 53 escapes are three-digit octal
  });
});

describe('Present batches', () => {
  it('CREATE alone when no set exists', () => {
    expect(presentChanges([], t)).toEqual([{ Action: 'CREATE', ResourceRecordSet: { Name: t.fqdn, Type: 'TXT', TTL: 10, ResourceRecords: [{ Value: '"KEY"' }] } }]);
  });
  it('DELETE(exact current) + CREATE(current + key) on a simple set, keeping its TTL', () => {
    expect(presentChanges([simple(['"other"'])], t)).toEqual([
      { Action: 'DELETE', ResourceRecordSet: simple(['"other"']) },
      { Action: 'CREATE', ResourceRecordSet: simple(['"other"', '"KEY"']) },
    ]);
  });
  it('nothing when the value is there already (in any style)', () => {
    expect(presentChanges([simple(['"KEY"', '"x"'])], t)).toEqual([]);
    expect(presentChanges([multi('KEY')], t)).toEqual([]);
  });
  it("a multivalue set named after the key when cert-manager's built-in sets are there", () => {
    expect(presentChanges([multi('A')], t)).toEqual([{ Action: 'CREATE', ResourceRecordSet: multi('KEY') }]);
  });
});

describe('CleanUp batches', () => {
  it('DELETE + CREATE(the rest) when other values remain; DELETE alone for the last value; nothing when gone', () => {
    expect(cleanUpChanges([simple(['"a"', '"KEY"'])], t)).toEqual([
      { Action: 'DELETE', ResourceRecordSet: simple(['"a"', '"KEY"']) },
      { Action: 'CREATE', ResourceRecordSet: simple(['"a"']) },
    ]);
    expect(cleanUpChanges([simple(['"KEY"'])], t)).toEqual([{ Action: 'DELETE', ResourceRecordSet: simple(['"KEY"']) }]);
    expect(cleanUpChanges([simple(['"a"'])], t)).toEqual([]);
  });
  it('deletes only the multivalue set carrying the key', () => {
    expect(cleanUpChanges([multi('A'), multi('KEY'), multi('B')], t)).toEqual([{ Action: 'DELETE', ResourceRecordSet: multi('KEY') }]);
  });
});

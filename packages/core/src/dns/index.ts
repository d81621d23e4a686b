/** The embedded authoritative DNS server and a stub client to query it (or any nameserver). */
export { startDnsServer, type DnsServer, type DnsServerOptions } from './server.js';
export { queryTxt, querySoa, dnsQuery, dnsExchange, findZoneBySoa, parseServer, type ZoneWalkResult, type ExchangeOptions, type ExchangeResult, type QueryOptions, type TxtResult, type SoaResult, type DnsResponse } from './client.js';
export { splitTxt, type ServableRecordSource } from './answer.js';
export type { DnsRecordSource } from './types.js';

/**
 * Standalone DNSPod emulator for the end-to-end tier:
 *   npx tsx test/emulators/dnspod/main.ts --host 127.0.0.1 --port 0 --dns-port 0 --zones a.test,b.test \
 *     [--secret-id AKID... --secret-key ...] [--no-quotas] [--listing-delay-ms 0]
 * (`node --conditions=source --import tsx test/emulators/dnspod/main.ts ...` runs it on the core's sources.)
 * Prints one JSON line `{"url":…,"dns":…,"secretId":…}` when ready; stops on SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, startDnspodEmulator } from './emulator.js';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    'dns-port': { type: 'string', default: '0' },
    zones: { type: 'string', default: '' },
    'secret-id': { type: 'string', default: DEFAULT_SECRET_ID },
    'secret-key': { type: 'string', default: DEFAULT_SECRET_KEY },
    'no-quotas': { type: 'boolean', default: false },
    'listing-delay-ms': { type: 'string', default: '0' },
  },
});

const emulator = await startDnspodEmulator({
  host: values.host,
  port: Number(values.port),
  dnsPort: Number(values['dns-port']),
  domains: values.zones.split(',').map((z) => z.trim()).filter(Boolean),
  credentials: { [values['secret-id']]: values['secret-key'] },
  documentedQuotas: !values['no-quotas'],
  listingDelayMs: Number(values['listing-delay-ms']),
});
process.stdout.write(`${JSON.stringify({ url: emulator.url, dns: emulator.dns.address, secretId: values['secret-id'] })}\n`);

const stop = () => void emulator.close().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

/**
 * Standalone Cloudflare emulator for the end-to-end tier:
 *   npx tsx test/emulators/cloudflare/main.ts --host 127.0.0.1 --port 0 --dns-port 0 --zones a.test,b.test \
 *     [--token <40 chars>[=zone,zone]]... [--email me@example.com --key <37 hex>]
 * Prints one JSON line `{"url":…,"dns":…,"control":…}` when ready; stops on SIGINT/SIGTERM.
 * A `--token` without `=zones` may use every zone.
 */
import { parseArgs } from 'node:util';
import { startCloudflareEmulator } from './emulator.js';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    'dns-port': { type: 'string', default: '0' },
    zones: { type: 'string', default: 'example.test' },
    token: { type: 'string', multiple: true, default: [] },
    email: { type: 'string' },
    key: { type: 'string' },
  },
  strict: true,
});

const tokens: Record<string, string[] | '*'> = {};
for (const spec of values.token ?? []) {
  const [token, zoneList] = spec.split('=', 2) as [string, string | undefined];
  tokens[token] = zoneList ? zoneList.split(',').filter(Boolean) : '*';
}
if ((values.email === undefined) !== (values.key === undefined)) {
  console.error('--email and --key go together');
  process.exit(2);
}

const emulator = await startCloudflareEmulator({
  host: values.host,
  port: Number(values.port),
  dnsPort: Number(values['dns-port']),
  zones: values.zones!.split(',').filter(Boolean),
  tokens,
  users: values.email ? [{ email: values.email, key: values.key! }] : [],
});
const origin = new URL(emulator.url).origin;
console.log(JSON.stringify({ url: emulator.url, dns: emulator.dns.address, control: `${origin}/_emulator/` }));

const stop = () => void emulator.close().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

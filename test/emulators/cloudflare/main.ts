/**
 * Standalone Cloudflare emulator for the end-to-end tier:
 *   npx tsx test/emulators/cloudflare/main.ts --host 127.0.0.1 --port 0 --dns-port 0 --zones a.test,b.test \
 *     [--token <40 chars>[=zone,zone]]... [--email me@example.com --key <37 hex>]
 * Prints one JSON line `{"url":…,"dns":…,"control":…}` when ready; stops on SIGINT/SIGTERM.
 * A `--token` without `=zones` may use every zone.
 */
import { parseArgs } from 'node:util';
import { announce, commaList, COMMON_FLAGS, listenOptions } from '../common/cli.js';
import { startCloudflareEmulator } from './emulator.js';

const { values } = parseArgs({
  options: {
    ...COMMON_FLAGS,
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
  ...listenOptions(values),
  zones: commaList(values.zones),
  tokens,
  users: values.email ? [{ email: values.email, key: values.key! }] : [],
});
announce(emulator, { control: `${new URL(emulator.url).origin}/_emulator/` });

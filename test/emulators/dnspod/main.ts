/**
 * Standalone DNSPod emulator for the end-to-end tier:
 *   npx tsx test/emulators/dnspod/main.ts --host 127.0.0.1 --port 0 --dns-port 0 --zones a.test,b.test \
 *     [--secret-id AKID... --secret-key ...] [--no-quotas] [--listing-delay-ms 0]
 * (`node --conditions=source --import tsx test/emulators/dnspod/main.ts ...` runs it on the core's sources.)
 * Prints one JSON line `{"url":…,"dns":…,"secretId":…}` when ready; stops on SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { announce, commaList, COMMON_FLAGS, listenOptions } from '../common/cli.js';
import { DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, startDnspodEmulator } from './emulator.js';

const { values } = parseArgs({
  options: {
    ...COMMON_FLAGS,
    'secret-id': { type: 'string', default: DEFAULT_SECRET_ID },
    'secret-key': { type: 'string', default: DEFAULT_SECRET_KEY },
    'no-quotas': { type: 'boolean', default: false },
    'listing-delay-ms': { type: 'string', default: '0' },
  },
});

const emulator = await startDnspodEmulator({
  ...listenOptions(values),
  domains: commaList(values.zones),
  credentials: { [values['secret-id']]: values['secret-key'] },
  documentedQuotas: !values['no-quotas'],
  listingDelayMs: Number(values['listing-delay-ms']),
});
announce(emulator, { secretId: values['secret-id'] });

/**
 * Standalone Route 53 emulator for the end-to-end tier:
 *   npx tsx test/emulators/route53/main.ts --host 127.0.0.1 --port 0 --dns-port 0 --zones a.test,b.test \
 *     [--private-zones c.test] [--access-key-id AKIA... --secret-access-key ...] [--insync-after-ms 1000] \
 *     [--quota 50/10|off (default: the documented 5 requests/s)] [--roles arn:aws:iam::123456789012:role/x,...]
 * Prints one JSON line when ready: {"url","dns","zones":[{"name","id","private"}],"accessKeyId","stsUrl"}.
 * Control API under <url>/_emulator/ (records, calls, faults, quota, reset). Stops on SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { announce, commaList, COMMON_FLAGS, listenOptions } from '../common/cli.js';
import { DEFAULT_KEY, startRoute53Emulator, type ZoneSpec } from './emulator.js';

const { values } = parseArgs({
  options: {
    ...COMMON_FLAGS,
    'private-zones': { type: 'string', default: '' },
    'access-key-id': { type: 'string', default: DEFAULT_KEY.accessKeyId },
    'secret-access-key': { type: 'string', default: DEFAULT_KEY.secretAccessKey },
    'insync-after-ms': { type: 'string', default: '1000' },
    quota: { type: 'string' },
    roles: { type: 'string' },
  },
  strict: true,
});

const zones: ZoneSpec[] = [...commaList(values.zones).map((name) => ({ name })), ...commaList(values['private-zones']).map((name) => ({ name, private: true }))];
let quota: { burst: number; perSecond: number } | false | undefined;
if (values.quota === 'off') quota = false;
else if (values.quota) {
  const m = /^(\d+)\/(\d+(?:\.\d+)?)$/.exec(values.quota);
  if (!m) throw new Error('--quota must be BURST/PER_SECOND, e.g. 50/10');
  quota = { burst: Number(m[1]), perSecond: Number(m[2]) };
}

const emu = await startRoute53Emulator({
  ...listenOptions(values),
  zones,
  credentials: [{ accessKeyId: values['access-key-id']!, secretAccessKey: values['secret-access-key']! }],
  insyncAfterMs: Number(values['insync-after-ms']),
  ...(quota === undefined ? {} : { quota }),
  ...(values.roles ? { roles: commaList(values.roles) } : {}),
});

announce(emu, {
  stsUrl: emu.url,
  accessKeyId: emu.credentials.accessKeyId,
  zones: emu.store.zones.map((z) => ({ name: z.name, id: z.id, private: z.private })),
});

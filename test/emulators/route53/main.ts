/**
 * Standalone Route 53 emulator for the end-to-end tier:
 *   npx tsx test/emulators/route53/main.ts --host 127.0.0.1 --port 0 --dns-port 0 --zones a.test,b.test \
 *     [--private-zones c.test] [--access-key-id AKIA... --secret-access-key ...] [--insync-after-ms 1000] \
 *     [--quota 50/10] [--roles arn:aws:iam::123456789012:role/x,...]
 * Prints one JSON line when ready: {"url","dns","zones":[{"name","id","private"}],"accessKeyId","stsUrl"}.
 * Control API under <url>/_emulator/ (records, calls, faults, quota, reset). Stops on SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_KEY, startRoute53Emulator, type ZoneSpec } from './emulator.js';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    'dns-port': { type: 'string', default: '0' },
    zones: { type: 'string', default: 'example.test' },
    'private-zones': { type: 'string', default: '' },
    'access-key-id': { type: 'string', default: DEFAULT_KEY.accessKeyId },
    'secret-access-key': { type: 'string', default: DEFAULT_KEY.secretAccessKey },
    'insync-after-ms': { type: 'string', default: '1000' },
    quota: { type: 'string' },
    roles: { type: 'string' },
  },
  strict: true,
});

const list = (s: string | undefined) => (s ?? '').split(',').map((x) => x.trim()).filter(Boolean);
const zones: ZoneSpec[] = [...list(values.zones).map((name) => ({ name })), ...list(values['private-zones']).map((name) => ({ name, private: true }))];
let quota: { burst: number; perSecond: number } | undefined;
if (values.quota) {
  const m = /^(\d+)\/(\d+(?:\.\d+)?)$/.exec(values.quota);
  if (!m) throw new Error('--quota must be BURST/PER_SECOND, e.g. 50/10');
  quota = { burst: Number(m[1]), perSecond: Number(m[2]) };
}

const emu = await startRoute53Emulator({
  host: values.host!,
  port: Number(values.port),
  dnsPort: Number(values['dns-port']),
  zones,
  credentials: [{ accessKeyId: values['access-key-id']!, secretAccessKey: values['secret-access-key']! }],
  insyncAfterMs: Number(values['insync-after-ms']),
  ...(quota ? { quota } : {}),
  ...(values.roles ? { roles: list(values.roles) } : {}),
});

process.stdout.write(
  `${JSON.stringify({
    url: emu.url,
    stsUrl: emu.url,
    dns: emu.dns.address,
    accessKeyId: emu.credentials.accessKeyId,
    zones: emu.store.zones.map((z) => ({ name: z.name, id: z.id, private: z.private })),
  })}\n`,
);

const stop = () => {
  void emu.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

/**
 * What every emulator's standalone `main.ts` shares: the address flags, comma lists, and the protocol with
 * the process that started it (one JSON line on stdout when ready; SIGINT/SIGTERM stop it).
 */
import type { RunningEmulator } from './control.js';

/** parseArgs options every emulator accepts; `--zones` is a comma list. */
export const COMMON_FLAGS = {
  host: { type: 'string', default: '127.0.0.1' },
  port: { type: 'string', default: '0' },
  'dns-port': { type: 'string', default: '0' },
  zones: { type: 'string', default: 'example.test' },
} as const;

export function commaList(value: string | undefined): string[] {
  return (value ?? '').split(',').map((x) => x.trim()).filter(Boolean);
}

/** `{host, port, dnsPort}` for start<Provider>Emulator from the parsed common flags. */
export function listenOptions(values: { host: string; port: string; 'dns-port': string }) {
  return { host: values.host, port: Number(values.port), dnsPort: Number(values['dns-port']) };
}

/** Prints `{url, dns, ...extra}` as one line, then serves until SIGINT/SIGTERM. */
export function announce(emulator: Pick<RunningEmulator, 'url' | 'dns' | 'close'>, extra: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ url: emulator.url, dns: emulator.dns.address, ...extra })}\n`);
  const stop = () => void emulator.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

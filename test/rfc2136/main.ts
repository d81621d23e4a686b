/**
 * A real Knot DNS server as a standalone process, speaking the emulators' start-up protocol (one JSON line
 * `{url, dns}` on stdout when ready, SIGTERM stops it), for cert-manager's Go conformance suite
 * (test/e2e/conformance). Its zones accept RFC 2136 updates signed with `acme-<algorithm>.` keys.
 *
 *   node --import tsx test/rfc2136/main.ts --host 127.0.0.1 --zones conformance.test --tsig-secret <base64>
 */
import { parseArgs } from 'node:util';
import { COMMON_FLAGS, announce, commaList } from '../emulators/common/cli.js';
import { startKnot } from './servers.js';

const { values } = parseArgs({ options: { ...COMMON_FLAGS, 'tsig-secret': { type: 'string' } }, strict: true });
const knot = await startKnot({
  host: values.host,
  extraZones: commaList(values.zones).map((z) => `${z.replace(/\.$/, '')}.`).filter((z) => z !== 'example.test.'),
  ...(values['tsig-secret'] ? { secret: values['tsig-secret'] } : {}),
});
// No provider API (the protocol is DNS itself): `url` is empty.
const [host, port] = [knot.address.slice(0, knot.address.lastIndexOf(':')), Number(knot.address.slice(knot.address.lastIndexOf(':') + 1))];
announce({ url: '', dns: { host, port, address: knot.address }, close: () => knot.stop() }, { server: knot.version });

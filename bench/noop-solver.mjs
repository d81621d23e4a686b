// The no-op solver `npm run bench` registers next to the bundled solvers: present and cleanUp do nothing, so
// the benchmark measures the framework (TLS, delegated auth, routing, payload handling), as the Go
// reference's no-op solver does. It imports nothing on purpose: the same file loads into any checkout being
// compared (`--ours <git ref>`), older ones included. The config schema accepts anything (zod's safeParse shape).
const anyConfig = { safeParse: (value) => ({ success: true, data: value }) };

export default Object.freeze({
  name: 'noop',
  config: anyConfig,
  async present() {},
  async cleanUp() {},
});

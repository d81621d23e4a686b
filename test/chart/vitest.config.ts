import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The chart checks: they need helm (and, for apply.test.ts, the e2e kube-apiserver), so they belong to the
// e2e tier, not to `npm test`. Run: `npx vitest run --config test/chart/vitest.config.ts` (after `npm run build`,
// which image.test.ts replays). Same settings as test/e2e/vitest.config.ts, which may include these files too.
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['test/chart/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 120_000,
    // beforeAll may build helm (minutes on 2 cores) or start kube-apiserver.
    hookTimeout: 900_000,
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});

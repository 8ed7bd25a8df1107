import { defineConfig } from 'vitest/config';

/**
 * `npm run test:reliability`: crash, fuzz, full-disk and concurrency runs against the real CLI.
 * Not part of `npm test` (minutes, not seconds); files run one after another so that each
 * has the machine's cores to itself. The report (counts of deliveries, kills, fuzz cases) is
 * printed at the end and written to test/reliability/report.json.
 */
export default defineConfig({
  test: {
    include: ['test/reliability/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
    globalSetup: ['test/reliability/report-setup.ts'],
  },
});

// End-to-end tests: one real stack (workerd via wrangler dev, Neo4j) started once by
// global-setup.ts; file-context.ts gives every tests/e2e/**/*.spec.ts its own admin token, client
// IP and exchange simulator, then the file talks to the stack over HTTP on 127.0.0.1.
//
// Order: the spec FILES run in a random order drawn from KEEL_TEST_SEED (a fresh seed when unset,
// printed by global-setup.ts; `KEEL_TEST_SEED=<n> npm run test:e2e` replays an order). Tests inside
// a file keep their written order: a file is one scenario whose tests may build on each other,
// while isolation is promised between files.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const here = path.dirname(fileURLToPath(import.meta.url));

/** The run's order seed: KEEL_TEST_SEED, else a fresh one (exported so workers see the same). */
function orderSeed(): number {
  const given = process.env.KEEL_TEST_SEED;
  if (given !== undefined && given !== "") {
    const n = Number(given);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`KEEL_TEST_SEED must be a non-negative integer, got ${given}`);
    return n;
  }
  const fresh = Math.floor(Math.random() * 2 ** 31);
  process.env.KEEL_TEST_SEED = String(fresh);
  return fresh;
}

const seed = orderSeed();

export default defineConfig({
  test: {
    root: path.resolve(here, "../.."),
    include: ["tests/e2e/**/*.spec.ts"],
    globalSetup: [path.join(here, "global-setup.ts")],
    setupFiles: [path.join(here, "file-context.ts")],
    // One stack, two files at a time where they may (lanes.ts): a file that changes what every
    // file shares (platform halt, cron, restarts) runs alone; files that touch only what they own
    // (file-context.ts) run two at a time, so one's waits (token expiry, bar closes, held
    // orders) overlap the other's work. The machine has 2 cores and the Workers run in one workerd.
    fileParallelism: true,
    maxWorkers: 2,
    sequence: { shuffle: { files: true, tests: false }, seed },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ["default"],
  },
});

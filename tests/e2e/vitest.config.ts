// End-to-end tests: one real stack (workerd via wrangler dev, exchange simulator, Neo4j) started
// once by global-setup.ts, then every tests/e2e/**/*.spec.ts talks to it over HTTP on 127.0.0.1.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  test: {
    root: path.resolve(here, "../.."),
    include: ["tests/e2e/**/*.spec.ts"],
    globalSetup: [path.join(here, "global-setup.ts")],
    // One shared stack: spec files run one after another so their requests do not interleave
    // in timing-sensitive scenarios; each spec still uses its own bot ids.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ["default"],
  },
});

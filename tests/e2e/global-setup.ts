// Starts the whole Keel stack ONCE for the end-to-end run and stops it afterwards, even when tests
// fail or the run is interrupted. Ports are free ports, Neo4j data and Durable Object storage live
// in a temp folder, the admin token is fresh. Logs are kept in .keel/e2e-logs/ for post-mortems.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { ROOT, freePort, randomToken, startStack } from "../../scripts/stack.ts";
import type { KeelStackInfo } from "./harness.js";
import { startStackControl } from "./stack-control.ts";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "keel-e2e-"));
  const logDir = path.join(ROOT, ".keel", "e2e-logs");
  fs.rmSync(logDir, { recursive: true, force: true });
  const info = (msg: string): void => console.log(`e2e: ${msg}`);
  // vitest.config.ts fixed it (KEEL_TEST_SEED, or a fresh one it exported).
  const seed = Number(process.env.KEEL_TEST_SEED ?? 0);
  info(`file order seed ${seed} (replay this order: KEEL_TEST_SEED=${seed})`);

  const started = Date.now();
  const stack = await startStack({
    port: await freePort(),
    simPort: await freePort(),
    neo4jPort: await freePort(),
    proxyPort: await freePort(),
    neo4jPassword: randomToken(18),
    adminToken: randomToken(24),
    masterKey: randomBytes(32).toString("base64"),
    neo4jDataDir: path.join(tmp, "neo4j"),
    stateDir: path.join(tmp, "wrangler-state"),
    runDir: path.join(tmp, "run"),
    logDir,
    // Between neo4j-proxy and Neo4j: lets audit-outage.spec.ts cut Neo4j's answers.
    neo4jRelay: true,
    info,
  }).catch((err: unknown) => {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  });
  info(`stack up in ${Date.now() - started} ms (logs: ${logDir})`);

  // A hard exit of this process must not leave servers behind.
  const onExit = (): void => stack.killNow();
  process.on("exit", onExit);
  // Lets specs kill and restart Neo4j and drive the relay (see stack-control.ts).
  const control = await startStackControl(stack, randomToken(24));

  const provided: KeelStackInfo = {
    baseUrl: stack.baseUrl,
    adminToken: stack.adminToken,
    simUrl: stack.simUrl,
    proxyUrl: stack.proxyUrl,
    neo4jUrl: stack.neo4jUrl,
    neo4jUser: stack.neo4jUser,
    neo4jPassword: stack.neo4jPassword,
    startupMs: stack.startupMs,
    control: { url: control.url, token: control.token },
    seed,
  };
  project.provide("keel", provided);

  return async () => {
    await control.close();
    await stack.stop();
    process.off("exit", onExit);
    fs.rmSync(tmp, { recursive: true, force: true });
    info("stack stopped");
  };
}

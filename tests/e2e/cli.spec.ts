// The `keel` command-line client (cli/, built by scripts/build.sh as target/release/keel) against
// the running stack: create a bot from a file, store its credentials from stdin, trade through the
// printed webhook secret, pause, resume and list; API errors print as `code: message (field)`.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/stack.ts";
import { adminFetch, fetchJson, keel, uniqueId } from "./harness.js";

const bin = process.env.KEEL_CLI_BIN ?? path.join(ROOT, "target/release/keel");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `keel args...` with KEEL_URL/KEEL_TOKEN of this stack; `stdin` is piped in when given. */
function cli(args: string[], stdin?: string): Run {
  const run = spawnSync(bin, args, {
    encoding: "utf8",
    input: stdin ?? "",
    timeout: 60_000,
    env: { ...process.env, KEEL_URL: keel().baseUrl, KEEL_TOKEN: keel().adminToken },
  });
  if (run.error) throw run.error;
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** The STATE column of a bot's row in `keel bots list` (the name may hold spaces: count from the right). */
function stateOf(list: string, id: string): string | undefined {
  const row = list.split("\n").find((l) => l.startsWith(`${id} `));
  return row?.trim().split(/\s+/).at(-4);
}

describe("keel CLI", () => {
  it("creates a bot from a file, stores credentials from stdin, trades, pauses, resumes and lists", async () => {
    expect(fs.existsSync(bin), `${bin} missing: run scripts/build.sh`).toBe(true);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "keel-cli-"));
    const id = uniqueId("cli");
    const file = path.join(dir, "bot.json");
    fs.writeFileSync(
      file,
      JSON.stringify({
        id,
        name: "CLI e2e",
        exchange: "binance",
        market: "spot",
        mode: "testnet",
        base_url: keel().simUrl,
        instruments: ["BTCUSDT"],
        sizing: { mode: "fixed_qty", value: "0.001" },
        risk: { max_order_notional: "500" },
      }),
    );

    const created = cli(["bots", "create", "--file", file]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain(`webhook URL:    ${keel().baseUrl}/webhook/${id}\n`);
    const secret = /webhook secret: (whsec_\S+)/.exec(created.stdout)?.[1];
    expect(secret, created.stdout).toBeTruthy();
    const alert = JSON.parse(created.stdout.trim().split("\n").at(-1) ?? "") as Record<string, string>;
    expect(alert).toMatchObject({ secret, symbol: "{{ticker}}", time: "{{timenow}}" });

    // The secret comes from stdin; the API key from argv.
    const creds = cli(["bots", "set-credentials", id, "--api-key", "simBinanceKeyMain0001", "--api-secret-stdin"], "simBinanceSecretMain0001\n");
    expect(creds.code, creds.stderr).toBe(0);
    expect(creds.stdout).toBe(`credentials stored for ${id}\n`);
    expect(cli(["bots", "set-credentials", id, "--api-key", "k", "--api-secret", "s"]).code).toBe(2);

    // The printed secret and the stored credentials work: a signed order reaches the simulator.
    const sig = await fetchJson<{ status?: string }>(`/webhook/${id}`, {
      method: "POST",
      json: { secret, id: uniqueId("sig"), action: "buy", symbol: "BTCUSDT", time: new Date().toISOString() },
    });
    expect(sig.status, sig.text).toBe(200);
    expect(sig.body?.status, sig.text).toBe("executed");

    const paused = cli(["pause", id, "--reason", "cli e2e"]);
    expect(paused.code, paused.stderr).toBe(0);
    const h1 = await adminFetch<{ flags: { paused: boolean; pause_reason: string | null } }>(`/api/v1/bots/${id}/health`);
    expect(h1.body?.flags.paused, h1.text).toBe(true);
    expect(stateOf(cli(["bots", "list"]).stdout, id)).toBe("paused");

    const resumed = cli(["resume", id]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const list = cli(["bots", "list"]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout.split("\n")[0]).toMatch(/^ID\s+NAME\s+EXCHANGE\s+MARKET\s+MODE\s+CCY\s+STATE\s+EQUITY\s+PNL_TODAY\s+POS$/);
    expect(stateOf(list.stdout, id), list.stdout).toBe("running");
    // Money by the shared rule: grouped, cents, the currency in its own column (exact in --json).
    const row = list.stdout.split("\n").find((l) => l.startsWith(`${id} `))?.trim().split(/\s+/) ?? [];
    expect(row.at(-5), list.stdout).toBe("USDT");
    expect(row.at(-3), list.stdout).toMatch(/^-?\d{1,3}(,\d{3})*\.\d{2}$/);
    expect(row.at(-2), list.stdout).toMatch(/^-?\d{1,3}(,\d{3})*\.\d{2}$|^—$/);

    const status = cli(["status"]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^platform: (ok|degraded)/);
    expect(status.stdout).toMatch(/\nbots: \d+ \(/);
    // …followed by the same table as `keel bots list`, with this bot's row.
    expect(status.stdout).toMatch(/\nID\s+NAME\s+EXCHANGE\s+MARKET\s+MODE\s+CCY\s+STATE/);
    expect(status.stdout.split("\n").some((l) => l.startsWith(`${id} `)), status.stdout).toBe(true);

    const got = cli(["--json", "bots", "get", id]);
    expect(got.code, got.stderr).toBe(0);
    expect(JSON.stringify(JSON.parse(got.stdout))).toContain(`"${id}"`);
    expect(got.stdout).not.toContain("simBinanceSecretMain0001");
  });

  it("prints API errors as `code: message (field)` and exits non-zero", () => {
    const missing = cli(["bots", "get", uniqueId("nobot")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^[a-z_]+: .+\n$/);

    const id = uniqueId("cli-err");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "keel-cli-"));
    const file = path.join(dir, "bot.json");
    fs.writeFileSync(
      file,
      JSON.stringify({
        id,
        name: "CLI errors",
        exchange: "binance",
        market: "spot",
        mode: "paper",
        base_url: keel().simUrl,
        instruments: ["BTCUSDT"],
        sizing: { mode: "fixed_qty", value: "0.001" },
        risk: {},
      }),
    );
    expect(cli(["bots", "create", "--file", file]).code).toBe(0);
    const zero = cli(["capital", id, "0"]);
    expect(zero.code).toBe(1);
    expect(zero.stderr).toBe("invalid_amount: amount must not be zero (amount)\n");

    const noToken = spawnSync(bin, ["bots", "list"], { encoding: "utf8", env: { PATH: process.env.PATH ?? "", KEEL_URL: keel().baseUrl } });
    expect(noToken.status).toBe(2);
    expect(noToken.stderr).toContain("KEEL_TOKEN");

    const badToken = spawnSync(bin, ["bots", "list", "--token", "wrong"], { encoding: "utf8", env: { PATH: process.env.PATH ?? "", KEEL_URL: keel().baseUrl } });
    expect(badToken.status).toBe(1);
    expect(badToken.stderr).toMatch(/^[a-z_]+: /);
  });
});

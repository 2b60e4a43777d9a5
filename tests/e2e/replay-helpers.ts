// The backtester beside a live strategy bot: the strategy specs run the engine example
// `strategy_replay` natively on the klines the simulator served the bot, and compare its fills
// with the bot's. One runner for every such spec file.
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** What `strategy_replay` reads on stdin (fees and slippage default to the paper venue's). */
export interface ReplayInput {
  config: Record<string, unknown>;
  /** The served klines: one JSON text, or one per symbol for a multi-series spec. */
  klines: string | Record<string, string>;
  exchangeInfo: string;
  fees?: { taker: string; maker: string; slippage: string };
}

/**
 * Runs the backtester natively and parses its report (async: a blocked event loop would let
 * idle sockets go stale).
 */
export function strategyReplay<T>(input: ReplayInput): Promise<T> {
  const fees = input.fees ?? { taker: "0.001", maker: "0.001", slippage: "5" };
  const stdin = JSON.stringify({
    config: input.config,
    klines: input.klines,
    exchange_info: input.exchangeInfo,
    taker_fee_rate: fees.taker,
    maker_fee_rate: fees.maker,
    initial_capital: "10000",
    slippage_bps: fees.slippage,
    fill_at: "close",
  });
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.env.CARGO ?? "cargo",
      ["run", "-q", "-p", "keel-engine", "--example", "strategy_replay"],
      { cwd: ROOT, encoding: "utf8", maxBuffer: 64 * 1024 * 1024, timeout: 600_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`strategy_replay failed: ${err.message} ${stderr}`));
        else resolve(JSON.parse(stdout) as T);
      },
    );
    child.stdin?.end(stdin);
  });
}

/** A decimal string in canonical form (`540.270` and `540.27` are the same amount). */
export function canon(d: string): string {
  return d.includes(".") ? d.replace(/0+$/, "").replace(/\.$/, "") : d;
}

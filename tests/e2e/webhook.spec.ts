// POST /webhook/{bot} for a bot that does not exist: 404 with a JSON error body {code, message}.
import { describe, expect, it } from "vitest";
import { fetchJson, uniqueId } from "./harness.js";

interface ApiError {
  code: string;
  message: string;
}

describe("POST /webhook/{bot}", () => {
  it("answers 404 with a JSON error for an unknown bot", async () => {
    const bot = uniqueId("no-such-bot");
    const res = await fetchJson<ApiError>(`/webhook/${bot}`, {
      method: "POST",
      json: { secret: "x", id: uniqueId("sig"), action: "buy", symbol: "BTCUSDT", qty: "0.001" },
    });
    expect(res.status, res.text).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
    expect(typeof res.body?.code, res.text).toBe("string");
    expect(res.body?.code.length).toBeGreaterThan(0);
    expect(typeof res.body?.message, res.text).toBe("string");
    expect(res.body?.message.length).toBeGreaterThan(0);
  });
});

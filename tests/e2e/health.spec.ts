// GET /health: with an admin token the platform answers with its version and says that Neo4j
// (through neo4j-proxy) and the configured exchanges (here: the local simulator) are reachable;
// without one it only says it is alive, asking nothing and showing nothing (issue 26, item 5).
import { describe, expect, it } from "vitest";
import { adminFetch, fetchJson, keel } from "./harness.js";

interface Health {
  status: string;
  version: string;
  neo4j: { configured: boolean; reachable: boolean; message?: string };
  exchanges: Record<string, { reachable: boolean }>;
}

describe("GET /health", () => {
  it("is green: version, Neo4j and the exchange simulator reachable", async () => {
    const res = await adminFetch<Health>("/health");
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
    const h = res.body;
    expect(h, res.text).not.toBeNull();
    expect(h?.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(h?.status, res.text).toBe("ok");
    if (keel().neo4jUrl) {
      expect(h?.neo4j, res.text).toMatchObject({ configured: true, reachable: true });
    }
    const exchanges = Object.entries(h?.exchanges ?? {});
    expect(exchanges.length, res.text).toBeGreaterThan(0);
    for (const [name, state] of exchanges) {
      expect(state.reachable, `${name}: ${res.text}`).toBe(true);
    }
  });

  it("without a token answers liveness only: no version, bots, Neo4j, exchanges or halt", async () => {
    const res = await fetchJson<Record<string, unknown>>("/health");
    expect(res.status, res.text).toBe(200);
    expect(res.body?.status, res.text).toBe("alive");
    for (const k of ["version", "engine_version", "neo4j", "exchanges", "audit_outbox", "halt"]) {
      expect(res.body && k in res.body, `${k}: ${res.text}`).toBe(false);
    }
    const wrong = await fetchJson<{ code: string }>("/health", { headers: { authorization: "Bearer keel_wrong" } });
    expect(wrong.status, wrong.text).toBe(401);
  });

  it("the exchange simulator the stack points at answers directly", async () => {
    const res = await fetchJson(`${keel().simUrl}/api/v3/ping`);
    expect(res.status).toBe(200);
  });
});

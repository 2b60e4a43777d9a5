// Issue 26 item 6: every answer carries the security headers — the dashboard's static files
// (served from the assets without running the Worker, headers from ui/public/_headers), its
// single-page fallback, and the Worker's own answers (API, webhook, health).
import { describe, expect, it } from "vitest";
import { fetchJson } from "./harness.js";

const REQUIRED: [string, RegExp][] = [
  ["content-security-policy", /frame-ancestors 'none'/],
  ["content-security-policy", /default-src 'self'/],
  ["strict-transport-security", /max-age=\d{7,}/],
  ["x-content-type-options", /^nosniff$/],
  ["x-frame-options", /^DENY$/],
  ["referrer-policy", /^no-referrer$/],
];

function expectHeaders(path: string, headers: Headers): void {
  for (const [name, re] of REQUIRED) {
    expect(headers.get(name) ?? "", `${path}: ${name}`).toMatch(re);
  }
}

describe("security headers", () => {
  it("are on the dashboard's files, its fallback, and every Worker answer", async () => {
    const index = await fetchJson("/");
    expect(index.status).toBe(200);
    expect(index.text).toMatch(/<html/i);
    expectHeaders("/", index.headers);
    const asset = /(?:src|href)="(\/assets\/[^"]+\.(?:js|css))"/.exec(index.text)?.[1];
    expect(asset, index.text.slice(0, 500)).toBeTruthy();
    const paths = [asset as string, "/index.html", "/bots/some-bot/positions", "/health", "/api/v1/whoami", "/api/v1/openapi.json"];
    for (const p of paths) {
      const res = await fetchJson(p);
      expect(res.status, p).toBeLessThan(500);
      expectHeaders(p, res.headers);
    }
    const hook = await fetchJson("/webhook/no-such-bot-headers", { method: "POST", json: {} });
    expect(hook.status).toBe(404);
    expectHeaders("/webhook", hook.headers);
  });
});

// Keeps the Rust modules layered (run by scripts/test.sh's ts-lint step; `node scripts/check-layers.ts`):
// no two sibling modules use each other, directly or through others (an import circle).
//
// Why: a circle makes a folder one tangle, which can only be understood, tested and changed as a
// whole; issue 18 removed the circles of `durable_objects/src/bot` and the layers are documented
// in each folder's module comment (e.g. `durable_objects/src/bot/mod.rs`). This check keeps every
// folder of every crate that way, so a new module lands in a layer instead of reopening a circle.
//
// A module is a sibling `NAME.rs` or folder `NAME/` of a module folder. It uses a sibling when its
// non-test text names `super::SIBLING`, `super::{.., SIBLING, ..}` or `<folder>::SIBLING`. Test code
// is skipped: files named `tests.rs`, `*_tests.rs` or under a `tests/` folder, and everything after
// a file's first `#[cfg(test)]` (tests may use any module).
//
// Circles older than this check are listed in KNOWN, as debt to pay down: the list may only shrink.
// A circle that is not on it (a new one, or a known one that gained or lost a module) fails the
// check, and so does a listed circle that is gone (delete its line: the ratchet moves).
//
// Usage: node scripts/check-layers.ts [repository root]. Exit 1 with every difference listed.

import fs from "node:fs";
import path from "node:path";

const ROOT = path.resolve(process.argv[2] ?? path.join(path.dirname(new URL(import.meta.url).pathname), ".."));
/** The crates' source roots. */
const ROOTS = ["src", "durable_objects/src", "engine/src", "cli/src", "neo4j-proxy/src", "tests/exchange-sim/src"];

const isTestFile = (name: string): boolean => name === "tests.rs" || name.endsWith("_tests.rs");

/** The non-test Rust text of a module (its file, or every file under its folder). */
function moduleText(p: string): string {
  const st = fs.statSync(p);
  if (st.isFile()) {
    const t = fs.readFileSync(p, "utf8");
    const cut = t.indexOf("#[cfg(test)]");
    return cut < 0 ? t : t.slice(0, cut);
  }
  const parts: string[] = [];
  for (const e of fs.readdirSync(p, { withFileTypes: true })) {
    if (e.isDirectory() && e.name === "tests") continue;
    if (e.isFile() && (!e.name.endsWith(".rs") || isTestFile(e.name))) continue;
    parts.push(moduleText(path.join(p, e.name)));
  }
  return parts.join("\n");
}

/** Tarjan's strongly connected components with more than one module. */
function circles(edges: Map<string, Set<string>>): string[][] {
  let n = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, n);
    low.set(v, n);
    n += 1;
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (on.has(w)) {
        low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
      }
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      for (;;) {
        const w = stack.pop() as string;
        on.delete(w);
        comp.push(w);
        if (w === v) break;
      }
      if (comp.length > 1) out.push(comp.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return out;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Checks one module folder, then its sub-folders; returns its circles as text. */
function checkFolder(dir: string, isCrateRoot: boolean): string[] {
  const entries = fs.readdirSync(dir, { withFileTypes: true });
  const mods = new Map<string, string>();
  for (const e of entries) {
    if (e.isFile() && e.name.endsWith(".rs") && !["mod.rs", "lib.rs", "main.rs"].includes(e.name) && !isTestFile(e.name)) {
      mods.set(e.name.slice(0, -3), path.join(dir, e.name));
    } else if (e.isDirectory() && e.name !== "tests") {
      mods.set(e.name, path.join(dir, e.name));
    }
  }
  const folder = isCrateRoot ? null : path.basename(dir);
  const edges = new Map<string, Set<string>>();
  for (const [m, p] of mods) {
    const text = moduleText(p);
    const uses = new Set<string>();
    for (const other of mods.keys()) {
      if (other === m) continue;
      const o = escape(other);
      let pat = `\\bsuper::(?:\\{[^}]*\\b${o}\\b|${o}\\b)`;
      if (folder) pat += `|\\b${escape(folder)}::${o}\\b`;
      if (isCrateRoot) pat += `|\\bcrate::${o}\\b`;
      if (new RegExp(pat).test(text)) uses.add(other);
    }
    edges.set(m, uses);
  }
  const rel = path.relative(ROOT, dir);
  const found = circles(edges).map((c) => `${rel}: ${c.join(" <-> ")}`);
  for (const e of entries) {
    if (e.isDirectory() && e.name !== "tests") found.push(...checkFolder(path.join(dir, e.name), false));
  }
  return found;
}

/** Circles that predate this check (2026-12-07), each `folder: a <-> b <-> ...`. Only shrinks. */
const KNOWN = new Set<string>([
  "src: api <-> auth <-> health <-> metrics",
  "engine/src: analytics <-> backtest <-> bot <-> config <-> factor <-> history <-> ledger <-> market <-> regime <-> risk <-> signal <-> strategy <-> venue",
  "engine/src/audit: outbox <-> wire",
  "engine/src/venue/bybit: exits <-> klines <-> parse <-> query",
  "neo4j-proxy/src: cypher <-> rows",
  "tests/exchange-sim/src: binance <-> conditional <-> klines <-> matching <-> positions <-> state",
  "tests/exchange-sim/src: binance_oco <-> binance_spot <-> exit_cancel",
  "tests/exchange-sim/src: bybit <-> bybit_trade",
]);

const found: string[] = [];
for (const r of ROOTS) {
  const dir = path.join(ROOT, r);
  if (fs.existsSync(dir)) found.push(...checkFolder(dir, true));
}
const fresh = found.filter((c) => !KNOWN.has(c));
const gone = [...KNOWN].filter((c) => !found.includes(c));
if (fresh.length > 0 || gone.length > 0) {
  if (fresh.length > 0) {
    console.error(`check-layers: ${fresh.length} import circle(s) among sibling modules that are not known debt:`);
    for (const c of fresh) console.error(`  circle: ${c}`);
    console.error("Put each module in a layer that uses only the layers before it (see the folder's module comment).");
  }
  if (gone.length > 0) {
    console.error(`check-layers: ${gone.length} known circle(s) changed or disappeared; delete (or narrow) their line in KNOWN:`);
    for (const c of gone) console.error(`  known: ${c}`);
  }
  process.exit(1);
}
console.log(`check-layers: ok (${ROOTS.length} crates; no new import circle; ${KNOWN.size} known ones left to untangle)`);

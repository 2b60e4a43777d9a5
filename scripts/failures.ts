// The failure digest printed at the very end of `npm test` (scripts/test.sh): one line per failed
// test, with its first error line, so a CI run that only keeps the tail of the output still names
// what broke. Reads the logs the steps wrote:
//   node scripts/failures.ts <logs dir>
// - vitest JSON reports (*.json: e2e, ui): failed tests, and files that failed outside a test
//   (a hook or an import);
// - cargo test logs (cargo-test.log): `---- name stdout ----` blocks and their panic message.
// Prints nothing when nothing failed. Never fails itself: a digest must not hide the summary.
import fs from "node:fs";
import path from "node:path";

/** At most this many failures are named; the rest are counted. */
const MAX_LINES = 12;

interface VitestAssertion {
  status: string;
  fullName?: string;
  title: string;
  failureMessages?: string[];
}
interface VitestFile {
  name: string;
  status: string;
  message?: string;
  assertionResults: VitestAssertion[];
}

/** The first non-empty line of an error text, without ANSI colours, at most 220 characters. */
function firstLine(text: string | undefined): string {
  const plain = (text ?? "").replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g"), "");
  const line = plain.split("\n").find((l) => l.trim() !== "") ?? "";
  const chars = [...line.trim()];
  return chars.length > 220 ? `${chars.slice(0, 220).join("")}…` : chars.join("");
}

function vitestFailures(step: string, file: string): string[] {
  let report: { testResults?: VitestFile[] };
  try {
    report = JSON.parse(fs.readFileSync(file, "utf8")) as { testResults?: VitestFile[] };
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const f of report.testResults ?? []) {
    const rel = path.relative(process.cwd(), f.name);
    const failed = f.assertionResults.filter((a) => a.status === "failed");
    for (const a of failed) out.push(`${step}: ${rel} > ${a.fullName ?? a.title}: ${firstLine(a.failureMessages?.[0])}`);
    if (failed.length === 0 && f.status === "failed") out.push(`${step}: ${rel} (outside a test): ${firstLine(f.message)}`);
  }
  return out;
}

function cargoFailures(file: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return [];
  }
  const out: string[] = [];
  const lines = text.split("\n");
  for (const [i, line] of lines.entries()) {
    const m = /^---- (\S+) stdout ----$/.exec(line);
    if (!m) continue;
    const panic = lines.slice(i + 1, i + 40).find((l) => l.includes("panicked at")) ?? "";
    const at = lines.indexOf(panic, i + 1);
    const reason = at >= 0 ? (lines[at + 1] ?? "") : "";
    out.push(`cargo-test: ${m[1]}: ${firstLine(reason || panic)}`);
  }
  return out;
}

const dir = process.argv[2] ?? ".keel/test-logs";
const all = [
  ...cargoFailures(path.join(dir, "cargo-test.log")),
  ...vitestFailures("e2e", path.join(dir, "e2e.json")),
  ...vitestFailures("ui-test", path.join(dir, "ui.json")),
];
if (all.length > 0) {
  console.log(`\n=== failed tests (${all.length})`);
  for (const l of all.slice(0, MAX_LINES)) console.log(`  ${l}`);
  if (all.length > MAX_LINES) console.log(`  … and ${all.length - MAX_LINES} more (see the logs)`);
}

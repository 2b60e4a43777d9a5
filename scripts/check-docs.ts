// Keeps the documentation true (run by scripts/test.sh's ts-lint step; `node scripts/check-docs.ts`):
//
// 1. README.md stays a front page: at most 200 lines; everything else lives under docs/.
// 2. Every relative link in README.md and docs/*.md points to a file (or folder) that exists, and
//    a `#fragment` into a Markdown file names one of its headings (GitHub's anchor rules).
// 3. No tracked file cites a document outside the repository (the old ../shared design and
//    reference notes): code comments point into docs/ instead, so a clone is self-contained.
//
// Why a script and not review: links rot silently when a page is split or renamed, and a comment
// that cites a file the reader does not have is worse than none.

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const README_MAX_LINES = 200;

// Citations of documents that are not in the repository. `../shared/tools` is allowed: scripts may
// run the shared tools on purpose.
// Inside docs/ a bare `design.md` is a sibling page, so that rule skips docs/*.md.
const OUTSIDE: { re: RegExp; what: string; skip?: RegExp }[] = [
  { re: /\.\.\/shared\/(?!tools\b)/, what: "../shared/" },
  { re: /(?<![\w/.-])shared\/(design|reference|style|bot-machine)/, what: "shared/…" },
  { re: /(?<![\w/.-])(design|exchanges|toolchain|streams|style)\.md/, what: "a .md outside docs/", skip: /^docs\/[^/]+\.md$/ },
  { re: /\bdesign (§|invariant)/i, what: "the old design document's sections" },
  { re: /shared toolchain notes/, what: "the shared toolchain notes" },
];
const SOURCE_EXT = /\.(rs|ts|tsx|js|mjs|cjs|sh|toml|md|py|json|ya?ml)$/;

const problems: string[] = [];

function trackedFiles(): string[] {
  const out = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  return out.split("\0").filter((f) => f !== "" && fs.existsSync(path.join(ROOT, f)));
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

function anchorsOf(file: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (line.startsWith("```")) fenced = !fenced;
    const m = !fenced && /^#{1,6}\s+(.*)$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** Relative links `[text](target)` outside code blocks and inline code. */
function linksOf(text: string): string[] {
  const links: string[] = [];
  let fenced = false;
  for (const line of text.split("\n")) {
    if (line.startsWith("```")) fenced = !fenced;
    if (fenced) continue;
    const prose = line.replace(/`[^`]*`/g, "");
    for (const m of prose.matchAll(/\]\(([^)\s]+)\)/g)) links.push(m[1]);
  }
  return links;
}

function checkLinks(doc: string): void {
  const text = fs.readFileSync(path.join(ROOT, doc), "utf8");
  for (const link of linksOf(text)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // https:, mailto:
    const [target, fragment] = link.split("#", 2);
    const file = target === "" ? path.join(ROOT, doc) : path.resolve(path.dirname(path.join(ROOT, doc)), target);
    const rel = path.relative(ROOT, file);
    if (!fs.existsSync(file)) {
      problems.push(`${doc}: link to missing file ${link}`);
      continue;
    }
    if (fragment && file.endsWith(".md") && !anchorsOf(file).has(fragment)) {
      problems.push(`${doc}: link ${link}: ${rel} has no heading #${fragment}`);
    }
  }
}

const readmeLines = fs.readFileSync(path.join(ROOT, "README.md"), "utf8").replace(/\n$/, "").split("\n").length;
if (readmeLines > README_MAX_LINES) {
  problems.push(`README.md has ${readmeLines} lines; at most ${README_MAX_LINES} (move the detail into docs/)`);
}

const files = trackedFiles();
const docs = files.filter((f) => f === "README.md" || /^docs\/[^/]+\.md$/.test(f));
for (const doc of docs) checkLinks(doc);

const self = path.relative(ROOT, new URL(import.meta.url).pathname);
for (const file of files) {
  if (file === self || !SOURCE_EXT.test(file) || file.startsWith("ui/node_modules/")) continue;
  const lines = fs.readFileSync(path.join(ROOT, file), "utf8").split("\n");
  lines.forEach((line, i) => {
    for (const { re, what, skip } of OUTSIDE) {
      if (re.test(line) && !skip?.test(file)) problems.push(`${file}:${i + 1}: cites ${what} outside the repository: ${line.trim()}`);
    }
  });
}

if (problems.length > 0) {
  for (const p of problems) console.error(`check-docs: ${p}`);
  console.error(`check-docs: ${problems.length} problem(s)`);
  process.exit(1);
}
console.log(`check-docs: ok (README.md ${readmeLines} lines, ${docs.length} pages' links, ${files.length} files' citations)`);

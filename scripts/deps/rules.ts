// SPDX-License-Identifier: Apache-2.0
/**
 * The dependency rules between the project's parts, and a checker that names
 * the file, the line and the rule each import breaks
 * (dependency-rules.test.ts runs it over the tree).
 *
 * The direction they keep: bpf/ is C on its own; the wire contract
 * (control/wire/) depends on neither side; the agent depends on the contract
 * alone; the control plane knows nothing of its pages; the pages know the
 * control plane's queries and commands, never its database.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path/posix";
import { cIncludes, type Import, tsImports } from "./imports.ts";

export interface Violation {
  /** Repository-relative: "control/alerts/alerts.ts". */
  file: string;
  line: number;
  specifier: string;
  rule: string;
}

/** What an import names: a repository-relative path for a relative specifier, else the package as written. */
type Target = { path: string } | { pkg: string };

interface Rule {
  rule: string;
  /** Whether the rule is about imports of this file. */
  from: (file: string) => boolean;
  breaks: (target: Target) => boolean;
}

const under = (dir: string) => (path: string) => path.startsWith(dir);
const pathUnder = (dir: string) => (t: Target) => "path" in t && t.path.startsWith(dir);
/** The database and its driver: drizzle-orm, @libsql/client (also as npm:…). */
const DATABASE_PACKAGE = /^(npm:)?(drizzle-orm|@libsql\/client)(@[^/]*)?(\/|$)/;

export const TS_RULES: readonly Rule[] = [
  {
    rule: "control/ never imports web/: the pages depend on the control plane, never the reverse",
    from: under("control/"),
    breaks: pathUnder("web/"),
  },
  {
    rule: "web/ never imports the database schema or drizzle: pages read and write through control's queries",
    from: under("web/"),
    breaks: (t) => "path" in t ? t.path.startsWith("control/db/") : DATABASE_PACKAGE.test(t.pkg),
  },
  {
    rule: "control/ and web/ never import agent/: the agent is a program of its own, sharing only control/wire/",
    from: (file) => file.startsWith("control/") || file.startsWith("web/"),
    breaks: pathUnder("agent/"),
  },
  {
    rule: "agent/ imports nothing of the repository outside itself but the wire contract (control/wire/)",
    from: under("agent/"),
    breaks: (t) => "path" in t && !t.path.startsWith("agent/") && !t.path.startsWith("control/wire/"),
  },
  {
    rule: "control/wire/ imports neither side: nothing of the repository outside control/wire/",
    from: under("control/wire/"),
    breaks: (t) => "path" in t && !t.path.startsWith("control/wire/"),
  },
];

/**
 * The one exception, file → the modules it may import against the rules.
 * control/app.ts is the process's composition root: it wires the page layer
 * (its routes and their static assets) onto the app beside the API. It holds
 * no logic of the control plane, and no logic of the control plane knows its
 * pages; anything else in control/ importing web/, or app.ts importing any
 * other page module, still fails.
 */
export const ALLOWED: ReadonlyMap<string, readonly string[]> = new Map([
  ["control/app.ts", ["web/routes.tsx", "web/assets.ts"]],
]);

export const BPF_NO_SCRIPT = "bpf/ is C alone (programs and headers): no TypeScript or JavaScript in it";
export const BPF_INCLUDES =
  "bpf/ includes only headers inside bpf/ (and the vmlinux.h generated from the kernel's BTF), never a file outside it";

/** Everything `source` (the text of `file`, repository-relative) does against the rules. */
export function check(file: string, source: string): Violation[] {
  if (file.startsWith("bpf/")) return checkBpf(file, source);
  if (!/\.tsx?$/.test(file)) return [];
  const allowed = ALLOWED.get(file) ?? [];
  return tsImports(file, source).flatMap((imp) => {
    const target = targetOf(file, imp.specifier);
    if ("path" in target && allowed.includes(target.path)) return [];
    return TS_RULES.filter((r) => r.from(file) && r.breaks(target)).map((r) => violation(file, imp, r.rule));
  });
}

const SCRIPT = /\.([cm]?[jt]sx?)$/;

function checkBpf(file: string, source: string): Violation[] {
  if (SCRIPT.test(file)) return [violation(file, { specifier: "", line: 1 }, BPF_NO_SCRIPT)];
  if (!/\.[ch]$/.test(file)) return [];
  // clang -I bpf/include (scripts/build-bpf.sh): a quoted include is looked for beside the file, then there.
  const outside = (imp: Import) =>
    !imp.specifier.endsWith(".h") ||
    [dirname(file), "bpf/include"].some((dir) => !normalize(join(dir, imp.specifier)).startsWith("bpf/"));
  return cIncludes(source).filter(outside).map((imp) => violation(file, imp, BPF_INCLUDES));
}

function targetOf(file: string, specifier: string): Target {
  return specifier.startsWith("./") || specifier.startsWith("../")
    ? { path: normalize(join(dirname(file), specifier)) }
    : { pkg: specifier };
}

const violation = (file: string, imp: Import, rule: string): Violation => ({ file, ...imp, rule });

/** "file:line: "specifier": rule", as a failing test shows it. */
export function describeViolation(v: Violation): string {
  return `${v.file}:${v.line}: ${v.specifier ? `"${v.specifier}"` : "(the file)"}: ${v.rule}`;
}

/** The folders the rules are about. */
export const CHECKED_DIRS = ["control", "web", "agent", "bpf"] as const;

/** Every file under CHECKED_DIRS of the repository at `root` (ending in "/"), checked. */
export function checkTree(root: string): Violation[] {
  return CHECKED_DIRS.flatMap((dir) => filesUnder(root, dir)).flatMap((file) =>
    check(file, readFileSync(root + file, "utf8"))
  );
}

/** Repository-relative paths of the TypeScript files under `dir`, and of every file under bpf/. */
function filesUnder(root: string, dir: string): string[] {
  return readdirSync(root + dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath.slice(root.length), e.name))
    .filter((file) => file.startsWith("bpf/") || /\.tsx?$/.test(file))
    .sort();
}

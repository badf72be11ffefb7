// SPDX-License-Identifier: Apache-2.0
/**
 * What a TypeScript file and a C file import, read from the source alone (no
 * resolution, no compiler run), each with the line it is on, for the
 * dependency rules (rules.ts).
 *
 * TypeScript is parsed with the compiler's own parser rather than matched by
 * pattern, so every form counts (`import`, `import type`, `export … from`,
 * side-effect `import "…"`, `import("…")`, type-level `import("…").T`,
 * `import x = require("…")`) and nothing in a comment or a string does.
 */
import ts from "typescript";

export interface Import {
  /** As written: "../db/client.ts", "drizzle-orm", "vmlinux.h". */
  specifier: string;
  /** 1-based. */
  line: number;
}

/** The module specifiers of a .ts/.tsx source. A dynamic import of a computed name cannot be known and is left out. */
export function tsImports(fileName: string, source: string): Import[] {
  const kind = fileName.endsWith(".tsx") ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, kind);
  const found: Import[] = [];
  const add = (literal: ts.Node | undefined) => {
    if (literal === undefined || !ts.isStringLiteralLike(literal)) return;
    found.push({ specifier: literal.text, line: sf.getLineAndCharacterOfPosition(literal.getStart(sf)).line + 1 });
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node.arguments[0]);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** The quoted `#include "…"` of a C source or header (not `<…>`: libbpf's and the system's). */
export function cIncludes(source: string): Import[] {
  return source.split("\n").flatMap((text, i) => {
    const m = /^\s*#\s*include\s*"([^"]+)"/.exec(text);
    return m ? [{ specifier: m[1]!, line: i + 1 }] : [];
  });
}

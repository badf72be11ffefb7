// SPDX-License-Identifier: Apache-2.0
/**
 * The relative links of a Markdown file (`[text](target)`, `![alt](target)`, `<img src="target">`,
 * `<a href="target">`) outside code, and which of them lead nowhere: a file or folder that does not exist, or a
 * `#fragment` naming no heading of the Markdown file it points into (GitHub's anchors: the heading in lower case,
 * punctuation dropped, spaces as hyphens, `-1`, `-2`… for repeats). Links with a scheme (`https:`, `mailto:`) are
 * not checked: they are not part of the repository.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize } from "node:path";

export interface Link {
  target: string;
  /** 1-based line in the file. */
  line: number;
}

/** The lines outside fenced code blocks (those blanked out, so line numbers stay). */
function outsideFences(markdown: string): string[] {
  let fenced = false;
  return markdown.split("\n").map((line) => {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      return "";
    }
    return fenced ? "" : line;
  });
}

export function linksOf(markdown: string): Link[] {
  const out: Link[] = [];
  outsideFences(markdown).map((line) => line.replace(/(`+)[^`]*?\1/g, "")).forEach((text, i) => {
    const targets = [
      ...[...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]),
      ...[...text.matchAll(/<(?:img|a)\s[^>]*?(?:src|href)="([^"]+)"/g)].map((m) => m[1]),
    ];
    for (const target of targets) {
      if (!/^[a-z][a-z0-9+.-]*:/i.test(target)) out.push({ target, line: i + 1 });
    }
  });
  return out;
}

/** GitHub's anchors of a Markdown file's headings. */
export function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const line of outsideFences(markdown)) {
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!h) continue;
    const base = h[1].replace(/`/g, "").toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n ? `${base}-${n}` : base);
  }
  return anchors;
}

/** The links of `file` (relative to `root`) that lead nowhere, each with the reason. */
export function brokenLinks(root: string, file: string): string[] {
  const text = readFileSync(join(root, file), "utf8");
  const broken: string[] = [];
  for (const { target, line } of linksOf(text)) {
    const [path, fragment] = target.split("#", 2);
    const resolved = path ? normalize(join(dirname(file), decodeURIComponent(path))) : file;
    const where = `${file}:${line}: ${target}`;
    if (resolved.startsWith("..")) broken.push(`${where}: outside the repository`);
    else if (!existsSync(join(root, resolved))) broken.push(`${where}: no such file`);
    else if (fragment !== undefined && resolved.endsWith(".md") && statSync(join(root, resolved)).isFile()) {
      if (!anchorsOf(readFileSync(join(root, resolved), "utf8")).has(fragment)) {
        broken.push(`${where}: no heading #${fragment} in ${resolved}`);
      }
    }
  }
  return broken;
}

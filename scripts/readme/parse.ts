// SPDX-License-Identifier: Apache-2.0
/**
 * The shell commands quoted in a Markdown file's code blocks, one per command
 * (continued over lines by a trailing backslash or an open quote), without
 * comments, whitespace collapsed: the form scripts/readme/plan.ts names them by.
 */

/** Fenced blocks in these languages hold commands; so do unlabelled ones (label prose `text`). */
const SHELL = new Set(["sh", "bash", "shell", "console", ""]);

export interface QuotedCommand {
  command: string;
  /** 1-based line of the command's first line in the file. */
  line: number;
}

/** The text without comments (outside quotes, at a word's start, to the end of the line), and whether a quote is still open. */
function stripComments(text: string): { text: string; open: boolean } {
  let out = "", quote = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      out += c;
      if (c === "\\" && quote === '"') out += text[++i] ?? "";
      else if (c === quote) quote = "";
    } else if (c === "#" && (i === 0 || /\s/.test(text[i - 1]))) {
      const eol = text.indexOf("\n", i);
      i = eol < 0 ? text.length : eol - 1;
    } else {
      out += c;
      if (c === "'" || c === '"') quote = c;
      else if (c === "\\") out += text[++i] ?? "";
    }
  }
  return { text: out, open: quote !== "" };
}

export function quotedCommands(markdown: string): QuotedCommand[] {
  const out: QuotedCommand[] = [];
  let inShell: boolean | null = null; // null: outside a fence
  let pending: { text: string; line: number } | null = null;
  markdown.split("\n").forEach((raw, i) => {
    const fence = /^\s*```\s*([\w-]*)\s*$/.exec(raw);
    if (fence) {
      if (inShell === null) inShell = SHELL.has(fence[1]);
      else {
        if (pending) throw new Error(`line ${pending.line}: command not finished when its code block ends`);
        inShell = null;
      }
      return;
    }
    if (!inShell) return;
    if (!pending) {
      if (raw.trim() === "" || raw.trim().startsWith("#")) return;
      pending = { text: raw, line: i + 1 };
    } else pending.text += `\n${raw}`;
    const { text, open } = stripComments(pending.text);
    if (open || /\\\s*$/.test(text)) return;
    out.push({ command: text.replace(/\\\n/g, " ").replace(/\s+/g, " ").trim(), line: pending.line });
    pending = null;
  });
  return out;
}

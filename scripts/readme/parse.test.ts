// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from "vitest";
import { quotedCommands } from "./parse.ts";

const md = (...lines: string[]) => lines.join("\n");

describe("quotedCommands", () => {
  it("takes commands from shell and unlabelled blocks only, without comments", () => {
    const text = md(
      "prose `npm run not-this`",
      "```sh",
      "# a comment line",
      "npm run a   # says what a does",
      "",
      "echo 'not # a comment' \"nor # this\"",
      "```",
      "```yaml",
      "key: value",
      "```",
      "```",
      "npm run b",
      "```",
    );
    expect(quotedCommands(text)).toEqual([
      { command: "npm run a", line: 4 },
      { command: "echo 'not # a comment' \"nor # this\"", line: 6 },
      { command: "npm run b", line: 12 },
    ]);
  });

  it("joins lines continued by a backslash or an open quote", () => {
    const text = md(
      "```bash",
      "curl -s localhost:8080/x \\",
      '  -d \'{"a":1,',
      '       "b":2}\'   # a comment after the quote closed',
      "```",
    );
    expect(quotedCommands(text)).toEqual([{ command: `curl -s localhost:8080/x -d '{"a":1, "b":2}'`, line: 2 }]);
  });

  it("refuses a command still open when its block ends", () => {
    expect(() => quotedCommands(md("```sh", "echo 'open", "```"))).toThrow(/line 2: command not finished/);
  });
});

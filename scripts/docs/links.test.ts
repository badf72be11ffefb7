// SPDX-License-Identifier: Apache-2.0
/** Every relative link of the documentation leads to a file of the repository (and a heading of it, with a #). */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { afterAll, describe, expect, it } from "vitest";
import { REPO } from "../procs.ts";
import { documentationFiles } from "./files.ts";
import { anchorsOf, brokenLinks, linksOf } from "./links.ts";

describe("documentation links", () => {
  it("README.md, CONTRIBUTING.md, docs/*.md and k8s/README.md link only to files and headings that exist", () => {
    const files = documentationFiles();
    expect(files).toEqual(expect.arrayContaining(["README.md", "CONTRIBUTING.md", "docs/counting.md"]));
    expect(files.flatMap((f) => brokenLinks(REPO, f))).toEqual([]);
  });

  it("reads links, images and HTML outside code, and GitHub's heading anchors", () => {
    const md = [
      "# Quick start",
      'see [a](docs/a.md#the-b-part), ![pic](img/x.png "title") and <img src="img/y.svg">',
      "not `[code](nope.md)`, not [web](https://example.com), [mail](mailto:x@example.com)",
      "```sh",
      "[fenced](nope.md)",
      "```",
      "## The `b` part: twice!",
      "## The `b` part: twice!",
    ].join("\n");
    expect(linksOf(md)).toEqual([
      { target: "docs/a.md#the-b-part", line: 2 },
      { target: "img/x.png", line: 2 },
      { target: "img/y.svg", line: 2 },
    ]);
    expect([...anchorsOf(md)]).toEqual(["quick-start", "the-b-part-twice", "the-b-part-twice-1"]);
  });

  const dir = mkdtempSync(`${tmpdir()}/ek8s-links-`);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("names a missing file, a missing heading and a link out of the repository, each with its line", () => {
    mkdirSync(`${dir}/docs`);
    writeFileSync(`${dir}/docs/a.md`, "# A\n\n## Kept\n");
    writeFileSync(
      `${dir}/README.md`,
      "[ok](docs/a.md#kept) [dir](docs/) [self](#a-top)\n# A top\n[gone](docs/b.md)\n[anchor](docs/a.md#lost)\n[out](../x.md)\n",
    );
    writeFileSync(`${dir}/docs/up.md`, "[back](../README.md#a-top) [sibling](a.md)\n");
    expect(brokenLinks(dir, "README.md")).toEqual([
      "README.md:3: docs/b.md: no such file",
      "README.md:4: docs/a.md#lost: no heading #lost in docs/a.md",
      "README.md:5: ../x.md: outside the repository",
    ]);
    expect(brokenLinks(dir, "docs/up.md")).toEqual([]);
  });
});

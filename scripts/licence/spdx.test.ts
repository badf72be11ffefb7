// SPDX-License-Identifier: Apache-2.0
/** Every tracked source file names its licence (scripts/licence/spdx.ts), and the rule tells the sides apart. */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { expectedLine, isKernelSide, unlicensed, withLine } from "./spdx.ts";

describe("licences", () => {
  it("every tracked source file starts with its SPDX line", () => {
    expect(unlicensed(), "run: npx tsx scripts/licence/spdx.ts --fix").toEqual([]);
  });

  it("eBPF C is GPL-2.0-only OR BSD-2-Clause, the rest Apache-2.0; a shebang stays first", () => {
    expect(isKernelSide("bpf/dns.bpf.c") && isKernelSide("bpf/include/dns.h")).toBe(true);
    expect(isKernelSide("scripts/tools/lbprobe.c")).toBe(false);
    expect(expectedLine("bpf/include/lb.h")).toBe("/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */");
    expect(expectedLine("agent/main.ts")).toBe("// SPDX-License-Identifier: Apache-2.0");
    expect(expectedLine("control/db/migrations/0001_x.sql")).toBeNull();
    expect(withLine("scripts/x.sh", "#!/bin/sh\necho hi\n")).toBe(
      "#!/bin/sh\n# SPDX-License-Identifier: Apache-2.0\necho hi\n",
    );
    expect(withLine("bpf/x.bpf.c", "// SPDX-License-Identifier: GPL-2.0\nint x;\n")).toBe(
      "/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */\nint x;\n",
    );
  });

  it('every eBPF program declares "Dual BSD/GPL" to the kernel (GPL-compatible: GPL-only helpers load)', () => {
    const DECLARED = 'char LICENSE[] SEC("license") = "Dual BSD/GPL";';
    const programs = readdirSync("bpf").filter((f) => f.endsWith(".bpf.c"));
    expect(programs).toContain("flows.bpf.c"); // the programs are where this looks
    expect(programs.filter((f) => !readFileSync(`bpf/${f}`, "utf8").includes(DECLARED))).toEqual([]);
    // The test programs too (one includes a real program, licence and all): no other licence anywhere.
    const declarations = ["bpf", "agent/testing/bpf"].flatMap((dir) =>
      readdirSync(dir).filter((f) => f.endsWith(".c")).flatMap((f) =>
        readFileSync(`${dir}/${f}`, "utf8").split("\n").filter((l) => l.includes('SEC("license")'))
      )
    );
    expect(declarations.length).toBeGreaterThan(programs.length);
    expect(declarations.filter((l) => l.trim() !== DECLARED)).toEqual([]);
  });
});

// SPDX-License-Identifier: Apache-2.0
/** Every tracked source file names its licence (scripts/licence/spdx.mjs), and the rule tells the sides apart. */
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
});

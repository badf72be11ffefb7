// SPDX-License-Identifier: Apache-2.0
/**
 * The dependency rules (rules.ts) hold over the tree: every .ts/.tsx under
 * control/, web/ and agent/, every file under bpf/. And the checker can fail:
 * synthetic sources break each rule in each form an import takes, and it
 * names the file, the line and the rule.
 */
import { describe, expect, it } from "vitest";
import { REPO } from "../procs.ts";
import { BPF_INCLUDES, BPF_NO_SCRIPT, check, checkTree, describeViolation, TS_RULES } from "./rules.ts";

const [CONTROL_NOT_WEB, WEB_NOT_DB, NOT_AGENT, AGENT_ONLY_WIRE, WIRE_ALONE] = TS_RULES.map((r) => r.rule);

describe("the tree", () => {
  it("keeps every dependency rule", () => {
    expect(checkTree(REPO).map(describeViolation)).toEqual([]);
    // Parses every source file of the tree: a few seconds alone, longer beside the other unit files.
  }, 60_000);
});

describe("the checker", () => {
  it("catches control/ importing web/ in every form, on the line it is on", () => {
    const source = [
      "/** import { x } from '../../web/pages/in-a-comment.tsx' */",
      'import type { ThresholdsView } from "../../web/pages/thresholds.tsx";',
      'import { NodeList } from "../../web/components/node-list.tsx";',
      'export { nodePath } from "../../web/components/node-list.tsx";',
      'import "../../web/assets.ts";',
      'const later = () => import("../../web/routes.tsx");',
      'type Later = import("../../web/routes.tsx").WebOptions;',
      'const text = "../../web/routes.tsx";',
    ].join("\n");
    expect(check("control/alerts/alerts.ts", source)).toEqual(
      [2, 3, 4, 5, 6, 7].map((line) =>
        expect.objectContaining({ file: "control/alerts/alerts.ts", line, rule: CONTROL_NOT_WEB })
      ),
    );
    expect(describeViolation(check("control/alerts/alerts.ts", source)[0]!)).toBe(
      `control/alerts/alerts.ts:2: "../../web/pages/thresholds.tsx": ${CONTROL_NOT_WEB}`,
    );
  });

  it("allows exactly the composition root mounting exactly the page routes and assets", () => {
    const mounts = 'import { webRoutes } from "../web/routes.tsx";\nimport { loadAssets } from "../web/assets.ts";';
    expect(check("control/app.ts", mounts)).toEqual([]);
    expect(check("control/main.ts", mounts).map((v) => [v.line, v.rule])).toEqual([
      [1, CONTROL_NOT_WEB],
      [2, CONTROL_NOT_WEB],
    ]);
    expect(check("control/app.ts", 'import { Layout } from "../web/components/layout.tsx";')).toEqual([
      expect.objectContaining({ line: 1, rule: CONTROL_NOT_WEB }),
    ]);
  });

  it("catches web/ importing the schema, the database client or drizzle, and lets it use control's queries", () => {
    const source = [
      'import type { Db } from "../../control/db/client.ts";',
      'import { alerts } from "../../control/db/schema.ts";',
      'import { eq } from "drizzle-orm";',
      'import type { SQLiteTable } from "drizzle-orm/sqlite-core";',
      'import { createClient } from "@libsql/client";',
      'import type { Db as Handle } from "../../control/queries/handle.ts";',
      'import { clusterOverview } from "../../control/queries/overview.ts";',
    ].join("\n");
    expect(check("web/pages/x.tsx", source).map((v) => [v.line, v.rule])).toEqual(
      [1, 2, 3, 4, 5].map((line) => [line, WEB_NOT_DB]),
    );
  });

  it("keeps the agent on the wire contract, and the contract on its own", () => {
    expect(check("agent/modules/lb/pool.ts", 'import { maglevSize } from "../../../control/wire/maglev.ts";'))
      .toEqual([]);
    expect(check("agent/metrics.ts", 'import { exposition } from "../control/metrics/exposition.ts";')).toEqual([
      expect.objectContaining({ line: 1, rule: AGENT_ONLY_WIRE }),
    ]);
    expect(check("agent/x.ts", 'import { Layout } from "../web/components/layout.tsx";')).toEqual([
      expect.objectContaining({ rule: AGENT_ONLY_WIRE }),
    ]);
    expect(check("control/wire/services.ts", 'import { maglevSize } from "../lb/maglev.ts";\nimport { z } from "zod";'))
      .toEqual([expect.objectContaining({ line: 1, rule: WIRE_ALONE })]);
    expect(check("control/wire/batch.ts", 'import type { Agent } from "../../agent/agent.ts";').map((v) => v.rule))
      .toEqual([NOT_AGENT, WIRE_ALONE]);
    expect(check("web/routes.tsx", 'import { Agent } from "../agent/agent.ts";').map((v) => v.rule)).toEqual([
      NOT_AGENT,
    ]);
  });

  it("keeps bpf/ C alone, its includes inside it", () => {
    expect(check("bpf/maps.ts", "export const X = 1;")).toEqual([
      { file: "bpf/maps.ts", line: 1, specifier: "", rule: BPF_NO_SCRIPT },
    ]);
    const program = [
      '#include "vmlinux.h"',
      "#include <bpf/bpf_helpers.h>",
      '#include "lb.h"',
      '#include "../build/generated.h"',
      '#include "../../agent/modules/lb/layout.ts"',
    ].join("\n");
    expect(check("bpf/sock_lb.bpf.c", program).map((v) => [v.line, v.rule])).toEqual([
      [4, BPF_INCLUDES],
      [5, BPF_INCLUDES],
    ]);
    expect(check("bpf/include/lb.h", '#include "addr.bpf.h"')).toEqual([]);
  });
});

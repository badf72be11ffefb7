// SPDX-License-Identifier: Apache-2.0
/**
 * Component names for the contract's schemas (control/wire/) and the other
 * request schemas the API documents: given here, not in wire/, which stays
 * free of documentation concerns. Imported for its effect by operations.ts.
 * A schema is named by its export's name, unless renamed (`[export, name]`).
 */
import * as alerts from "../../alerts/model.ts";
import * as ingest from "../../ingest/ingest-batch.ts";
import * as accel from "../../wire/accel.ts";
import * as batch from "../../wire/batch.ts";
import * as compact from "../../wire/compact/http.ts";
import * as monitoring from "../../wire/monitoring.ts";
import * as services from "../../wire/services.ts";
import * as version from "../../wire/version.ts";
import { named } from "../components.ts";

const NAMED: [Record<string, unknown>, (string | [string, string])[]][] = [
  [alerts, ["Scope", "ThresholdInput"]],
  [ingest, [["IngestBatch", "Batch"]]],
  [accel, ["AccelRule", "AccelRuleInput"]],
  [batch, [
    "BatchAck",
    "DesiredState",
    "DesiredStateAnswer",
    "Inventory",
    "JoinRequest",
    "JoinResponse",
    "MapInfo",
    "ModuleStatus",
    "ProgramInfo",
  ]],
  [compact, [["UnknownPartAnswer", "UnknownPart"]]],
  [monitoring, ["MonitoringStats"]],
  [services, ["LbBackend", "LbService", "LbState", "ServiceInput"]],
  [version, ["WireVersions"]],
];

for (const [module, exports] of NAMED) {
  for (const e of exports) {
    const [exported, name] = typeof e === "string" ? [e, e] : e;
    const schema = module[exported];
    if (!(schema instanceof Object) || !("_zod" in schema)) throw new Error(`no zod schema exported as ${exported}`);
    named(name, schema as Parameters<typeof named>[1]);
  }
}

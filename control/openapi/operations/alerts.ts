// SPDX-License-Identifier: Apache-2.0
/** Thresholds and alerts (control/routes/alerts.ts). */
import { z } from "zod";
import { type MetricInfo, METRICS, ThresholdInput } from "../../alerts/model.ts";
import { AlertQuery, ThresholdParams } from "../../routes/alerts.ts";
import { AlertView, ThresholdView } from "../schemas/alerts.ts";
import { errors, ok, type Operation } from "../operation.ts";

const TAG = "Alerts";

/** What the input schema checks beyond JSON Schema's reach (its refinement, control/alerts/model.ts ThresholdInput). */
const metricsWhere = (keep: (m: MetricInfo) => boolean, say: (name: string, m: MetricInfo) => string) =>
  Object.entries(METRICS).filter(([, m]) => keep(m)).map(([name, m]) => say(name, m));
const CHECKED = [
  "An upper or a lower limit (or both), the lower below the upper",
  ...metricsWhere((m) => m.nodesOnly === true, (name) => `${name} of nodes only (scope all or node)`),
  ...metricsWhere(
    (m) => m.limitBelow !== undefined,
    (name, m) => `${name}'s limits below ${m.limitBelow} ${m.unit} (a value past it reads as it)`,
  ),
].join("; ") + ".";

export const ALERT_OPERATIONS: Operation[] = [
  {
    method: "get",
    path: "/api/v1/thresholds",
    tag: TAG,
    summary: "Every threshold, oldest first",
    access: "reader",
    responses: { 200: ok(z.array(ThresholdView), "The thresholds") },
  },
  {
    method: "post",
    path: "/api/v1/thresholds",
    tag: TAG,
    summary: "Create a threshold: upper and/or lower limits of a metric over a scope",
    description: CHECKED,
    access: "admin",
    body: ThresholdInput,
    responses: { 201: ok(ThresholdView, "Created"), ...errors(400, 413) },
  },
  {
    method: "get",
    path: "/api/v1/thresholds/{id}",
    tag: TAG,
    summary: "One threshold",
    access: "reader",
    params: ThresholdParams,
    responses: { 200: ok(ThresholdView, "The threshold"), ...errors(400, 404) },
  },
  {
    method: "put",
    path: "/api/v1/thresholds/{id}",
    tag: TAG,
    summary: "Replace a threshold (the whole of it)",
    description: CHECKED,
    access: "admin",
    params: ThresholdParams,
    body: ThresholdInput,
    responses: { 200: ok(ThresholdView, "The threshold written"), ...errors(400, 404, 413) },
  },
  {
    method: "delete",
    path: "/api/v1/thresholds/{id}",
    tag: TAG,
    summary: "Delete a threshold (its alerts stay in the history, resolved)",
    access: "admin",
    params: ThresholdParams,
    responses: { 200: ok(ThresholdView, "The threshold as it was"), ...errors(400, 404) },
  },
  {
    method: "get",
    path: "/api/v1/alerts",
    tag: TAG,
    summary: "Alerts: active first (latest fired first), then resolved (latest first)",
    description: "`node`: about that node or a pod on it; `since`: active at some time since; `limit` 1–5000, " +
      "default 200.",
    access: "reader",
    query: AlertQuery,
    responses: { 200: ok(z.array(AlertView), "The alerts"), ...errors(400) },
  },
];

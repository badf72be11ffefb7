// SPDX-License-Identifier: Apache-2.0
/** The probes (control/routes/health.ts), /metrics, and this document itself (control/routes/openapi.ts). */
import { z } from "zod";
import { METRICS_PATH } from "../../metrics/control-metrics.ts";
import { EXPOSITION_CONTENT_TYPE } from "../../wire/exposition.ts";
import { Healthz, NotReady, Ready } from "../schemas/nodes.ts";
import { ok, type Operation } from "../operation.ts";

export const PROBE_OPERATIONS: Operation[] = [
  {
    method: "get",
    path: "/healthz",
    tag: "Probes",
    summary: "Liveness: 200 while the process serves requests (reads nothing)",
    access: "open",
    responses: { 200: ok(Healthz, "Serving") },
  },
  {
    method: "get",
    path: "/readyz",
    tag: "Probes",
    summary: "Readiness: the database answers, and who holds the lease of the once-only work",
    access: "open",
    responses: {
      200: ok(Ready, "Ready: the database answered within 2 s"),
      503: ok(NotReady, "Not ready: the database failed or did not answer in time"),
    },
  },
  {
    method: "get",
    path: METRICS_PATH,
    tag: "Probes",
    summary: "Prometheus metrics of the cluster and of this control plane (text exposition format)",
    access: "reader",
    responses: {
      200: { description: "The metrics", contentTypes: { [EXPOSITION_CONTENT_TYPE]: "Exposition format 0.0.4" } },
    },
  },
  {
    method: "get",
    path: "/api/v1/openapi.json",
    tag: "Reference",
    summary: "This document: OpenAPI 3.1 of the JSON API",
    access: "open",
    responses: { 200: ok(z.looseObject({ openapi: z.literal("3.1.0") }), "The OpenAPI document") },
  },
];

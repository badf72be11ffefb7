// SPDX-License-Identifier: Apache-2.0
/** Load-balanced services and socket acceleration rules (control/routes/services.ts, accel.ts). */
import { IdParams, ViewQuery as RuleQuery } from "../../routes/accel.ts";
import { BackendParams, NameParams, RefParams, StateBody, ViewQuery } from "../../routes/services.ts";
import { AccelRule, AccelRuleInput } from "../../wire/accel.ts";
import { ServiceInput } from "../../wire/services.ts";
import { RuleView, RuleViews, ServiceConflictBody, ServicesView, ServiceView } from "../schemas/services.ts";
import { ERRORS, errors, ok, type Operation, type ResponseSpec } from "../operation.ts";

const TAG = "Services";
const ACCEL = "Acceleration";
const conflict: ResponseSpec = {
  ...ERRORS[409],
  schema: ServiceConflictBody,
  description: "Conflict: `conflict` is name (exists), frontend (VIP:port taken), managed (by Kubernetes) or full",
};
const PORT = "`portName` is the port's name, `-` for the unnamed port.";
const PUT_BODY = "The whole service; namespace, name and portName may be left out, else they must be the path's.";

/** The routes with an optional last segment (`/services/:namespace/:name/:portName?`) are two paths here. */
const byRef = (method: "put" | "delete", summary: string, description: string, more: Record<number, ResponseSpec>) =>
  [
    { path: "/api/v1/services/{namespace}/{name}", params: NameParams, note: "The unnamed port." },
    { path: "/api/v1/services/{namespace}/{name}/{portName}", params: RefParams, note: PORT },
  ].map(({ path, params, note }): Operation => ({
    method,
    path,
    tag: TAG,
    summary,
    description: `${note} ${description}`.trim(),
    access: "admin",
    params,
    ...(method === "put" ? { body: ServiceInput } : {}),
    responses: { 200: ok(ServiceView, method === "put" ? "The service written" : "The service as it was"), ...more },
  }));

export const SERVICE_OPERATIONS: Operation[] = [
  {
    method: "get",
    path: "/api/v1/services",
    tag: TAG,
    summary: "Every service with its backends, counters over the window and nodes in sync",
    description: "`since`: ISO 8601 or a duration back (default 1h) starts the counters' window.",
    access: "reader",
    query: ViewQuery,
    responses: { 200: ok(ServicesView, "The services"), ...errors(400) },
  },
  {
    method: "get",
    path: "/api/v1/services/{namespace}/{name}",
    tag: TAG,
    summary: "A service's ports",
    access: "reader",
    params: NameParams,
    query: ViewQuery,
    responses: { 200: ok(ServicesView, "That name's services"), ...errors(400, 404) },
  },
  {
    method: "get",
    path: "/api/v1/services/{namespace}/{name}/{portName}",
    tag: TAG,
    summary: "One service port",
    description: PORT,
    access: "reader",
    params: RefParams,
    query: ViewQuery,
    responses: { 200: ok(ServiceView, "The service"), ...errors(400, 404) },
  },
  {
    method: "post",
    path: "/api/v1/services",
    tag: TAG,
    summary: "Create a service",
    access: "admin",
    body: ServiceInput,
    responses: { 201: ok(ServiceView, "Created"), ...errors(400, 413), 409: conflict },
  },
  ...byRef("put", "Replace a service", PUT_BODY, { ...errors(400, 404, 413), 409: conflict }),
  ...byRef("delete", "Delete a service", "", { ...errors(400, 404), 409: conflict }),
  {
    method: "patch",
    path: "/api/v1/services/{namespace}/{name}/{portName}/backends/{endpoint}",
    tag: TAG,
    summary: "Set one backend's state: active, terminating or unhealthy",
    description: `${PORT} \`endpoint\` is the backend as \`ip:port\`.`,
    access: "admin",
    params: BackendParams,
    body: StateBody,
    responses: { 200: ok(ServiceView, "The service"), ...errors(400, 404, 413), 409: conflict },
  },
  {
    method: "get",
    path: "/api/v1/accel/rules",
    tag: ACCEL,
    summary: "Socket acceleration rules with their counters since `since` (default 1h)",
    access: "reader",
    query: RuleQuery,
    responses: { 200: ok(RuleViews, "The rules"), ...errors(400) },
  },
  {
    method: "get",
    path: "/api/v1/accel/rules/{id}",
    tag: ACCEL,
    summary: "One rule with its counters over the last hour",
    access: "reader",
    params: IdParams,
    responses: { 200: ok(RuleView, "The rule"), ...errors(400, 404) },
  },
  {
    method: "post",
    path: "/api/v1/accel/rules",
    tag: ACCEL,
    summary: "Create a rule",
    access: "admin",
    body: AccelRuleInput,
    responses: {
      201: ok(AccelRule, "Created"),
      ...errors(400, 413),
      409: { ...ERRORS[409], description: "No id free (`conflict: full`)" },
    },
  },
  {
    method: "put",
    path: "/api/v1/accel/rules/{id}",
    tag: ACCEL,
    summary: "Replace a rule",
    access: "admin",
    params: IdParams,
    body: AccelRuleInput,
    responses: { 200: ok(AccelRule, "The rule written"), ...errors(400, 404, 413) },
  },
  {
    method: "delete",
    path: "/api/v1/accel/rules/{id}",
    tag: ACCEL,
    summary: "Delete a rule",
    access: "admin",
    params: IdParams,
    responses: { 200: ok(AccelRule, "The rule as it was"), ...errors(400, 404) },
  },
];

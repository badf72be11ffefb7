// SPDX-License-Identifier: Apache-2.0
/**
 * GET /api/v1/openapi.json: the OpenAPI 3.1 document of the JSON API
 * (control/openapi/), open like the probes: it describes the API and holds
 * no data.
 */
import { Hono } from "hono";
import { jsonResponse } from "../http/json.ts";
import { apiDocument } from "../openapi/api-document.ts";

export function openApiRoutes(): Hono {
  const routes = new Hono();
  routes.get("/openapi.json", () => jsonResponse(apiDocument()));
  return routes;
}

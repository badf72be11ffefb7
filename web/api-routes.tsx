// SPDX-License-Identifier: Apache-2.0
/**
 * `/api`: the API reference page (web/pages/api.tsx). Open like the document
 * it renders (GET /api/v1/openapi.json): it describes the API, it shows no data.
 */
import { Hono } from "hono";
import type { AccessSettings } from "../control/auth/access.ts";
import { apiDocument } from "../control/openapi/api-document.ts";
import { sessionOf } from "./components/layout.tsx";
import { API_PAGE_PATH, type ApiDocument, ApiPage } from "./pages/api.tsx";

export function apiPageRoutes({ access }: { access: AccessSettings }): Hono {
  const routes = new Hono();
  routes.get(
    API_PAGE_PATH,
    async (c) =>
      c.html(<ApiPage document={apiDocument() as unknown as ApiDocument} session={await sessionOf(c, access)} />),
  );
  return routes;
}

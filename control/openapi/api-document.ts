// SPDX-License-Identifier: Apache-2.0
/** The document of this control plane's API, built once: GET /api/v1/openapi.json serves it, the /api page shows it. */
import { API_VERSION, openApiDocument } from "./document.ts";
import { OPERATIONS } from "./operations.ts";

let built: ReturnType<typeof openApiDocument> | undefined;

export function apiDocument(): ReturnType<typeof openApiDocument> {
  return built ??= openApiDocument(OPERATIONS, { version: API_VERSION });
}

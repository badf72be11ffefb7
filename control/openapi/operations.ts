// SPDX-License-Identifier: Apache-2.0
/**
 * Every operation of the JSON API, the one list the OpenAPI document, the
 * reference page and the route test (routes.test.ts) read. A route added
 * without its operation here fails that test, as does an operation left
 * behind by a route removed.
 */
import { ADMIN_OPERATIONS } from "./operations/admin.ts";
import { AGENT_OPERATIONS } from "./operations/agents.ts";
import { ALERT_OPERATIONS } from "./operations/alerts.ts";
import { MONITORING_OPERATIONS } from "./operations/monitoring.ts";
import { NODE_OPERATIONS } from "./operations/nodes.ts";
import { NOTIFICATION_OPERATIONS } from "./operations/notifications.ts";
import { PROBE_OPERATIONS } from "./operations/probes.ts";
import { SERVICE_OPERATIONS } from "./operations/services.ts";
import type { Operation } from "./operation.ts";
import "./schemas/wire.ts";

export const OPERATIONS: readonly Operation[] = [
  ...PROBE_OPERATIONS,
  ...NODE_OPERATIONS,
  ...ADMIN_OPERATIONS,
  ...MONITORING_OPERATIONS,
  ...SERVICE_OPERATIONS,
  ...ALERT_OPERATIONS,
  ...NOTIFICATION_OPERATIONS,
  ...AGENT_OPERATIONS,
];

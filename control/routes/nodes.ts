// SPDX-License-Identifier: Apache-2.0
/**
 * Read API for curl and scripts (open, or token-protected with EBPF_K8S_READ_AUTH=token):
 *   GET /api/v1/nodes                    → NodeSummary[] (status Ready/Stale/Lost, lastSeen, agentVersion, kernel)
 *   GET /api/v1/nodes/:node              → NodeDetail (interfaces, inventory, desired state, modules)
 *   GET /api/v1/nodes/:node/interfaces   → InterfaceState[]
 * 404 for a node that never reported a batch, 400 for a bad name. Admin only:
 *   DELETE /api/v1/nodes/:node           → { node, deleted: true }: removes the node from the registry with its
 *     credentials and desired state (control/registry/node-removal.ts); 404 for a node the registry does not know.
 */
import { Hono } from "hono";
import { type AccessSettings, requireAdmin, requireReader } from "../auth/access.ts";
import type { Db } from "../db/client.ts";
import { jsonError, jsonResponse } from "../http/json.ts";
import { parseOr400 } from "../http/validation.ts";
import type { StatusThresholds } from "../queries/node-status.ts";
import { listInterfaces, listNodes, nodeDetail } from "../queries/nodes.ts";
import { deleteNode } from "../registry/node-removal.ts";
import { NodeParams } from "./params.ts";

export interface NodeRouteOptions {
  now: () => number;
  access: AccessSettings;
  thresholds: StatusThresholds;
}

export function nodeRoutes(db: Db, { now, access, thresholds }: NodeRouteOptions): Hono {
  const routes = new Hono();
  const reader = requireReader(access);
  const notFound = (node: string) => jsonError(404, `node '${node}' not found`);

  routes.get("/nodes", reader, async () => jsonResponse(await listNodes(db, now(), thresholds)));

  routes.get("/nodes/:node", reader, async (c) => {
    const params = parseOr400(NodeParams, c.req.param(), "invalid node name");
    if (!params.ok) return params.response;
    const detail = await nodeDetail(db, params.data.node, now(), thresholds);
    return detail === undefined ? notFound(params.data.node) : jsonResponse(detail);
  });

  routes.get("/nodes/:node/interfaces", reader, async (c) => {
    const params = parseOr400(NodeParams, c.req.param(), "invalid node name");
    if (!params.ok) return params.response;
    const states = await listInterfaces(db, params.data.node);
    return states === undefined ? notFound(params.data.node) : jsonResponse(states);
  });

  routes.delete("/nodes/:node", requireAdmin(access), async (c) => {
    const params = parseOr400(NodeParams, c.req.param(), "invalid node name");
    if (!params.ok) return params.response;
    const { node } = params.data;
    if (!(await deleteNode(db, node, now()))) {
      return jsonError(
        404,
        `node '${node}' not found: it never joined, reported nor was switched (or is deleted already)`,
      );
    }
    return jsonResponse({ node, deleted: true });
  });

  return routes;
}

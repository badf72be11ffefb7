/**
 * Read API for curl and scripts:
 *   GET /api/v1/nodes                    → NodeSummary[]
 *   GET /api/v1/nodes/:node/interfaces   → InterfaceState[] (404 unknown node, 400 bad name)
 */
import { Hono } from "hono";
import { z } from "zod";
import type { Db } from "../db/client.ts";
import { jsonError, jsonResponse } from "../http/json.ts";
import { parseOr400 } from "../http/validation.ts";
import { listInterfaces, listNodes } from "../queries/nodes.ts";
import { NodeName } from "../wire/batch.ts";

const NodeParams = z.object({ node: NodeName });

export function nodeRoutes(db: Db, now: () => number): Hono {
  const routes = new Hono();

  routes.get("/nodes", async () => jsonResponse(await listNodes(db, now())));

  routes.get("/nodes/:node/interfaces", async (c) => {
    const params = parseOr400(NodeParams, c.req.param(), "invalid node name");
    if (!params.ok) return params.response;
    const { node } = params.data;
    const states = await listInterfaces(db, node);
    return states === undefined ? jsonError(404, `node '${node}' not found`) : jsonResponse(states);
  });

  return routes;
}

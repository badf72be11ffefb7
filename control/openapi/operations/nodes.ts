// SPDX-License-Identifier: Apache-2.0
/** Nodes (control/routes/nodes.ts). */
import { z } from "zod";
import { NodeParams } from "../../routes/params.ts";
import { InterfaceState, NodeDetail, NodeSummary } from "../schemas/nodes.ts";
import { errors, ok, type Operation } from "../operation.ts";

export const NODE_OPERATIONS: Operation[] = [
  {
    method: "get",
    path: "/api/v1/nodes",
    tag: "Nodes",
    summary: "Every node that reported: status (Ready, Stale, Lost), last seen, agent and kernel",
    access: "reader",
    responses: { 200: ok(z.array(NodeSummary), "The nodes by name") },
  },
  {
    method: "get",
    path: "/api/v1/nodes/{node}",
    tag: "Nodes",
    summary: "One node: interfaces, inventory, desired state, modules, monitoring counters",
    access: "reader",
    params: NodeParams,
    responses: { 200: ok(NodeDetail, "The node"), ...errors(400, 404) },
  },
  {
    method: "get",
    path: "/api/v1/nodes/{node}/interfaces",
    tag: "Nodes",
    summary: "A node's interfaces: counters and rates of its latest report",
    access: "reader",
    params: NodeParams,
    responses: { 200: ok(z.array(InterfaceState), "The interfaces"), ...errors(400, 404) },
  },
];

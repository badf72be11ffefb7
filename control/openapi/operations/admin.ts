// SPDX-License-Identifier: Apache-2.0
/** Join tokens, node credentials and modules (control/routes/join-tokens.ts, credentials.ts, modules.ts). */
import { z } from "zod";
import { RejoinBody } from "../../routes/credentials.ts";
import { JoinTokenParams, NewJoinTokenBody } from "../../routes/join-tokens.ts";
import { ModuleDefaultsBody, SwitchBody } from "../../routes/modules.ts";
import { NodeModuleParams, NodeParams } from "../../routes/params.ts";
import { DesiredState } from "../../wire/batch.ts";
import {
  CredentialsRevoked,
  JoinTokenView,
  ModuleDefaults,
  NewJoinToken,
  NodeDeleted,
  RejoinApproved,
} from "../schemas/admin.ts";
import { ModuleView } from "../schemas/nodes.ts";
import { errors, ok, type Operation } from "../operation.ts";

const TAG = "Joining";

export const ADMIN_OPERATIONS: Operation[] = [
  {
    method: "post",
    path: "/api/v1/join-tokens",
    tag: TAG,
    summary: 'A new join token (multi-use until it expires or is revoked; expires: "never" for a DaemonSet\'s)',
    description: "An empty body takes the defaults (a day). A token that never expires is for agents that join at " +
      "any time (autoscaling): revoke or rotate it (k8s/scripts/install.sh --rotate-join-token) instead.",
    access: "admin",
    body: NewJoinTokenBody,
    responses: { 201: ok(NewJoinToken, "Created: the token is shown this once"), ...errors(400, 413) },
  },
  {
    method: "get",
    path: "/api/v1/join-tokens",
    tag: TAG,
    summary: "Every join token, newest first (no secrets)",
    access: "admin",
    responses: { 200: ok(z.array(JoinTokenView), "The join tokens") },
  },
  {
    method: "delete",
    path: "/api/v1/join-tokens/{id}",
    tag: TAG,
    summary: "Revoke a join token",
    access: "admin",
    params: JoinTokenParams,
    responses: { 200: ok(JoinTokenView, "Revoked (revoking twice keeps the first time)"), ...errors(400, 404) },
  },
  {
    method: "delete",
    path: "/api/v1/nodes/{node}/credentials",
    tag: TAG,
    summary: "Revoke every credential of a node: its agent gets 401, any join may take the name",
    access: "admin",
    params: NodeParams,
    responses: { 200: ok(CredentialsRevoked, "How many credentials were revoked"), ...errors(400) },
  },
  {
    method: "post",
    path: "/api/v1/nodes/{node}/rejoin",
    tag: TAG,
    summary: "Approve the next join of a node whose credential is live (within ttlSeconds)",
    access: "admin",
    params: NodeParams,
    body: RejoinBody,
    responses: { 200: ok(RejoinApproved, "Approved until"), ...errors(400, 404, 413) },
  },
  {
    method: "get",
    path: "/api/v1/nodes/{node}/modules",
    tag: "Nodes",
    summary: "A node's modules: desired, reported, and whether a switch is pending",
    access: "reader",
    params: NodeParams,
    responses: { 200: ok(z.array(ModuleView), "Every module"), ...errors(400) },
  },
  {
    method: "put",
    path: "/api/v1/nodes/{node}/modules/{module}",
    tag: "Nodes",
    summary:
      "Switch a module on or off for this node: an override of the default (a node not joined yet is pre-provisioned)",
    access: "admin",
    params: NodeModuleParams,
    body: SwitchBody,
    responses: { 200: ok(DesiredState, "The node's new desired state"), ...errors(400, 413) },
  },
  {
    method: "delete",
    path: "/api/v1/nodes/{node}/modules/{module}",
    tag: "Nodes",
    summary: "Reset a module's override: the node follows the cluster default again",
    access: "admin",
    params: NodeModuleParams,
    responses: { 200: ok(DesiredState, "The node's new desired state"), ...errors(400) },
  },
  {
    method: "delete",
    path: "/api/v1/nodes/{node}",
    tag: "Nodes",
    summary: "Delete a node: its credentials (its agent gets 401), desired state and registry rows; statistics age out",
    access: "admin",
    params: NodeParams,
    responses: { 200: ok(NodeDeleted, "Deleted"), ...errors(400, 404) },
  },
  {
    method: "get",
    path: "/api/v1/module-defaults",
    tag: "Nodes",
    summary: "The cluster-wide module defaults every node follows where it has no override",
    access: "reader",
    responses: { 200: ok(ModuleDefaults, "The defaults") },
  },
  {
    method: "put",
    path: "/api/v1/module-defaults",
    tag: "Nodes",
    summary: "Change module defaults (the modules named; the others keep theirs); every node moves to a new version",
    access: "admin",
    body: ModuleDefaultsBody,
    responses: { 200: ok(ModuleDefaults, "The new defaults"), ...errors(400, 413) },
  },
];

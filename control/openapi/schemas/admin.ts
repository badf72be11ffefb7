// SPDX-License-Identifier: Apache-2.0
/** Join tokens and node credentials (control/registry/join-tokens.ts, routes/credentials.ts). */
import { z } from "zod";
import { named } from "../components.ts";
import { ModuleName, MODULES, NodeName } from "../../wire/batch.ts";
import { Count, IsoTime } from "./common.ts";

export const NewJoinToken = named(
  "NewJoinToken",
  z.strictObject({
    id: z.string(),
    token: z.string().describe("The secret: shown this once, stored hashed"),
    expiresAt: IsoTime.nullable().describe('null: never expires (made with expires: "never")'),
  }),
);

export const JoinTokenView = named(
  "JoinTokenView",
  z.strictObject({
    id: z.string(),
    description: z.string().nullable(),
    createdAt: IsoTime,
    expiresAt: IsoTime.nullable().describe("null: never expires"),
    revokedAt: IsoTime.nullable(),
    expired: z.boolean(),
    revoked: z.boolean(),
    uses: Count,
    lastUsedAt: IsoTime.nullable(),
  }),
);

export const CredentialsRevoked = named("CredentialsRevoked", z.strictObject({ node: NodeName, revoked: Count }));
export const RejoinApproved = named("RejoinApproved", z.strictObject({ node: NodeName, approvedUntil: IsoTime }));

/** The 409 of a join for a node whose credential is live (control/routes/join.ts). */
export const NodeTaken = named(
  "NodeTaken",
  z.strictObject({
    error: z.string(),
    conflict: z.literal("node"),
    node: NodeName,
    lastActiveAt: IsoTime,
    lostAt: IsoTime,
  }),
);

export const NodeDeleted = named("NodeDeleted", z.strictObject({ node: NodeName, deleted: z.literal(true) }));

export const ModuleDefaults = named(
  "ModuleDefaults",
  z.strictObject({
    version: Count.describe(
      "The desired-state version every node is at least at; a change raises it above every node's",
    ),
    modules: z.strictObject(
      Object.fromEntries(MODULES.map((m) => [m, z.boolean()])) as Record<ModuleName, z.ZodBoolean>,
    ),
    set: z.array(ModuleName).describe("The modules an admin set; the others follow the built-in defaults"),
  }),
);

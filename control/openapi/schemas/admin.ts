// SPDX-License-Identifier: Apache-2.0
/** Join tokens and node credentials (control/registry/join-tokens.ts, routes/credentials.ts). */
import { z } from "zod";
import { named } from "../components.ts";
import { NodeName } from "../../wire/batch.ts";
import { Count, IsoTime } from "./common.ts";

export const NewJoinToken = named(
  "NewJoinToken",
  z.strictObject({
    id: z.string(),
    token: z.string().describe("The secret: shown this once, stored hashed"),
    expiresAt: IsoTime,
  }),
);

export const JoinTokenView = named(
  "JoinTokenView",
  z.strictObject({
    id: z.string(),
    description: z.string().nullable(),
    createdAt: IsoTime,
    expiresAt: IsoTime,
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

// SPDX-License-Identifier: Apache-2.0
/** What agents call: join, ingest, the wire versions, lb state (control/routes/join.ts, ingest.ts, lb-state.ts). */
import { IngestBatch } from "../../ingest/ingest-batch.ts";
import { StateQuery } from "../../routes/lb-state.ts";
import { BatchAck, JoinRequest, JoinResponse, MAX_BATCH_BYTES } from "../../wire/batch.ts";
import { COMPACT_CONTENT_TYPE, UnknownPartAnswer } from "../../wire/compact/http.ts";
import { LB_POLL_MODULE_HEADER, LbState } from "../../wire/services.ts";
import {
  JOIN_HEADER_SINCE,
  JOIN_WIRE_VERSION_HEADER,
  UNSUPPORTED_WIRE_VERSION,
  WireVersions,
} from "../../wire/version.ts";
import { NodeTaken } from "../schemas/admin.ts";
import { ErrorBody, ERRORS, errors, FieldIssue, ok, type Operation } from "../operation.ts";
import { named } from "../components.ts";
import { z } from "zod";

const TAG = "Agents";

/**
 * The answers carrying a desired state are documented as the agent reads them (io "input"): the control plane
 * leaves out the modules added after the agent's wire version, and the agent reads a module left out as its default.
 */
const DESIRED_CUT = "The desired state names the modules the agent's wire version knows; one left out is at its " +
  "default.";

/** The 409 of a batch of a wire version this control plane does not read (control/routes/ingest.ts). */
const VersionRefused = named(
  "VersionRefused",
  WireVersions.extend({ error: z.literal(UNSUPPORTED_WIRE_VERSION), issues: z.array(FieldIssue).length(1) }),
);

export const AGENT_OPERATIONS: Operation[] = [
  {
    method: "post",
    path: "/api/v1/join",
    tag: TAG,
    summary: "Join: a join token for a node credential and the node's desired state",
    description: "429 after too many failed joins from one address; 409 while the node's credential is live " +
      `(an admin approves the re-join or revokes it). The agent names its wire version in ${JOIN_WIRE_VERSION_HEADER} ` +
      `(without it: version ${JOIN_HEADER_SINCE - 1}). ${DESIRED_CUT}`,
    access: "open",
    body: JoinRequest,
    responses: {
      200: { ...ok(JoinResponse, "Joined: the credential to send as `Authorization: Bearer`"), io: "input" },
      ...errors(400, 413, 429),
      401: { ...ERRORS[401], description: "The join token is unknown, expired or revoked" },
      409: ok(NodeTaken, "The node's credential is live: nothing written"),
    },
  },
  {
    method: "post",
    path: "/api/v1/ingest",
    tag: TAG,
    summary: "A batch of a node's counters (idempotent by node, boot id and sequence)",
    description: `A JSON batch, or a compact one (${COMPACT_CONTENT_TYPE}, may be gzipped). At most ` +
      `${MAX_BATCH_BYTES} bytes. 409 names the wire versions accepted; 412 asks for a compact batch's held ` +
      `parts whole; 403 when the batch names another node than the credential's. ${DESIRED_CUT}`,
    access: "node",
    body: IngestBatch,
    bodyContentTypes: { [COMPACT_CONTENT_TYPE]: "A compact batch (control/wire/compact), optionally gzipped" },
    responses: {
      200: { ...ok(BatchAck, "Stored, or already stored (`duplicate`)"), io: "input" },
      ...errors(400, 403, 413, 429),
      409: ok(VersionRefused, "Unsupported wire version: `version` and `accepts` say which are, `issues` names `v`"),
      412: ok(UnknownPartAnswer, "A compact batch names parts this replica does not hold: send them whole"),
      415: ok(ErrorBody, "A compact batch in a Content-Encoding other than gzip"),
    },
  },
  {
    method: "get",
    path: "/api/v1/wire",
    tag: TAG,
    summary: "The wire versions this control plane accepts",
    access: "open",
    responses: { 200: ok(WireVersions, "The version spoken and every version accepted") },
  },
  {
    method: "get",
    path: "/api/v1/lb/state",
    tag: TAG,
    summary: "The services and acceleration rules to program; long-polls while `after` is current",
    description: `The agent's module names itself in ${LB_POLL_MODULE_HEADER}. Held until the version changes ` +
      "or `wait` seconds pass (default 25, at most 60), then 204.",
    access: "node",
    query: StateQuery,
    responses: {
      200: ok(LbState, "The whole state, versioned"),
      204: { description: "Nothing changed since `after` within `wait` seconds" },
      ...errors(400),
    },
  },
];

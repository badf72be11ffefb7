// SPDX-License-Identifier: Apache-2.0
/** Notification receivers and delivery records (control/notify/receivers.ts ReceiverView, deliveries.ts). */
import { z } from "zod";
import { named } from "../components.ts";
import { Count, IsoTime } from "./common.ts";
import { RECEIVER_FORMATS } from "../../notify/receivers.ts";

export const ReceiverView = named(
  "ReceiverView",
  z.strictObject({
    id: z.string(),
    name: z.string(),
    url: z.string().describe("Scheme, host and first path segment; the rest (often itself a secret) shown as …"),
    format: z.enum(RECEIVER_FORMATS),
    bearerToken: z.boolean().describe("Whether a bearer token is set (it is never shown)"),
    header: z.string().nullable().describe("The custom header's name (its value is never shown)"),
    enabled: z.boolean(),
    pending: Count,
    delivered: Count,
    failedAttempts: Count,
    gaveUp: Count,
    createdAt: IsoTime,
    updatedAt: IsoTime,
  }),
);

const AttemptView = named(
  "NotificationAttempt",
  z.strictObject({
    at: IsoTime,
    durationMs: Count,
    httpStatus: z.number().int().nullable(),
    error: z.string().nullable(),
  }),
);

export const NotificationView = named(
  "NotificationView",
  z.strictObject({
    id: z.number().int(),
    receiver: z.string(),
    receiverId: z.string(),
    alertId: z.number().int(),
    status: z.enum(["firing", "resolved"]),
    alertname: z.string(),
    fingerprint: z.string(),
    summary: z.string(),
    state: z.enum(["pending", "delivered", "gave-up"]),
    createdAt: IsoTime,
    attempts: Count,
    nextAttemptAt: IsoTime.nullable(),
    finishedAt: IsoTime.nullable(),
    gaveUpReason: z.string().nullable(),
    attemptLog: z.array(AttemptView),
  }),
);

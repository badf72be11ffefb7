// SPDX-License-Identifier: Apache-2.0
/** Alert notification receivers and delivery records (control/routes/receivers.ts, docs/alerts.md). */
import { z } from "zod";
import { ReceiverInput, ReceiverPatch } from "../../notify/receivers.ts";
import { NotificationQuery, ReceiverParams } from "../../routes/receivers.ts";
import { NotificationView, ReceiverView } from "../schemas/notifications.ts";
import { errors, ok, type Operation } from "../operation.ts";

const TAG = "Notifications";
const SECRETS = "Secrets (bearerToken, header.value, the URL beyond its first path segment) are never shown back.";

export const NOTIFICATION_OPERATIONS: Operation[] = [
  {
    method: "get",
    path: "/api/v1/receivers",
    tag: TAG,
    summary: "Every webhook receiver of alert notifications, by name, with its delivery counts",
    description: SECRETS,
    access: "admin",
    responses: { 200: ok(z.array(ReceiverView), "The receivers") },
  },
  {
    method: "post",
    path: "/api/v1/receivers",
    tag: TAG,
    summary: "Add a webhook receiver: every alert firing and resolving is POSTed to it (Alertmanager's payload)",
    description: `A bearer token and a custom header named Authorization do not go together. ${SECRETS}`,
    access: "admin",
    body: ReceiverInput,
    responses: { 201: ok(ReceiverView, "Created"), ...errors(400, 409, 413) },
  },
  {
    method: "get",
    path: "/api/v1/receivers/{id}",
    tag: TAG,
    summary: "One receiver",
    access: "admin",
    params: ReceiverParams,
    responses: { 200: ok(ReceiverView, "The receiver"), ...errors(400, 404) },
  },
  {
    method: "patch",
    path: "/api/v1/receivers/{id}",
    tag: TAG,
    summary: "Change a receiver: what is left out stays, null removes a secret",
    access: "admin",
    params: ReceiverParams,
    body: ReceiverPatch,
    responses: { 200: ok(ReceiverView, "The receiver written"), ...errors(400, 404, 409, 413) },
  },
  {
    method: "delete",
    path: "/api/v1/receivers/{id}",
    tag: TAG,
    summary: "Delete a receiver and its notifications (pending ones are not sent)",
    access: "admin",
    params: ReceiverParams,
    responses: { 200: ok(ReceiverView, "The receiver as it was"), ...errors(400, 404) },
  },
  {
    method: "get",
    path: "/api/v1/notifications",
    tag: TAG,
    summary: "Delivery records, latest first: one per alert event and receiver, with its latest attempts",
    description: "`state`: pending (not delivered yet, retried with backoff), delivered, gave-up; `alert`: one " +
      "alert's; `limit` 1–5000, default 200.",
    access: "reader",
    query: NotificationQuery,
    responses: { 200: ok(z.array(NotificationView), "The delivery records"), ...errors(400) },
  },
];

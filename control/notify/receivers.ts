// SPDX-License-Identifier: Apache-2.0
/**
 * Webhook receivers of alert notifications: the input schemas (API and the
 * form on /thresholds), create, list, change and delete. Secrets (the bearer
 * token, the custom header's value, and the URL's path and query, which for
 * Slack and similar webhooks is itself the secret) are stored as given and
 * never shown back: a view says whether they are set.
 */
import { and, asc, DrizzleQueryError, eq, sql } from "drizzle-orm";
import { z } from "zod";
import { newId } from "../auth/secrets.ts";
import type { Db, Queryable } from "../db/client.ts";
import { alertNotifications, alertReceivers, type ReceiverRow } from "../db/schema.ts";
import { writeTransaction } from "../db/write-queue.ts";

export const ReceiverName = z
  .string({ error: "must be a name" })
  .regex(/^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/, "must be 1–63 lowercase letters, digits, '.', '_' or '-'");

const WebhookUrl = z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" }).max(2048).refine(
  // Node's fetch refuses such a URL, naming it whole in its error (which the delivery record would show), and
  // credentials belong in a secret that is never shown back.
  (u) => {
    if (!URL.canParse(u)) return true; // the URL check above says what is wrong (zod runs every check)
    const { username, password } = new URL(u);
    return username === "" && password === "";
  },
  "must not carry user:password@ (set the credentials as bearerToken or header instead)",
);

/** Headers the POST sets itself: a receiver may not replace them. */
const RESERVED_HEADERS = ["content-type", "content-length", "host", "transfer-encoding", "connection"];
const Secret = z.string().min(1, "must not be empty").max(4096).regex(/^[^\r\n\0]*$/, "must be one line");
const Header = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$/, "must be an HTTP header name").refine(
    (n) => !RESERVED_HEADERS.includes(n.toLowerCase()),
    `must not be one the POST sets itself (${RESERVED_HEADERS.join(", ")})`,
  ),
  value: Secret,
});

export const RECEIVER_FORMATS = ["webhook", "alertmanager"] as const;
const Format = z.enum(RECEIVER_FORMATS, { error: 'must be "webhook" or "alertmanager"' });

const fields = {
  name: ReceiverName,
  url: WebhookUrl,
  /** "webhook": Alertmanager's webhook message (Slack, PagerDuty bridges…); "alertmanager": its /api/v2/alerts body. */
  format: Format,
  /** Sent as `Authorization: Bearer …`. */
  bearerToken: Secret.nullish(),
  /** Sent as given with every POST (an API key header, for instance). */
  header: Header.nullish(),
  enabled: z.boolean({ error: "must be true or false" }),
};

const oneAuthorization = (
  r: { bearerToken?: string | null; header?: { name: string } | null },
  ctx: z.RefinementCtx,
) => {
  if (r.bearerToken && r.header?.name.toLowerCase() === "authorization") {
    ctx.addIssue({ code: "custom", path: ["header", "name"], message: "a bearer token already sets Authorization" });
  }
};

/** POST /api/v1/receivers. */
export const ReceiverInput = z.strictObject({
  ...fields,
  format: fields.format.default("webhook"),
  enabled: fields.enabled.default(true),
}).superRefine(
  oneAuthorization,
);
export type ReceiverInput = z.output<typeof ReceiverInput>;

/** PATCH /api/v1/receivers/:id: what is left out stays; null removes a secret. */
export const ReceiverPatch = z.strictObject({
  name: fields.name.optional(),
  url: fields.url.optional(),
  format: fields.format.optional(),
  bearerToken: fields.bearerToken,
  header: fields.header,
  enabled: fields.enabled.optional(),
}).superRefine(oneAuthorization);
export type ReceiverPatch = z.output<typeof ReceiverPatch>;

export interface ReceiverView {
  id: string;
  name: string;
  /** The URL's scheme, host and first path segment; the rest (often a secret) as "…". */
  url: string;
  format: (typeof RECEIVER_FORMATS)[number];
  bearerToken: boolean;
  /** The custom header's name (its value is not shown). */
  header: string | null;
  enabled: boolean;
  /** Notifications waiting (first attempt or a retry), delivered, failed attempts, given up: all time, except pending. */
  pending: number;
  delivered: number;
  failedAttempts: number;
  gaveUp: number;
  createdAt: string;
  updatedAt: string;
}

/** A name taken by another receiver (answered 409). */
export class NameTaken extends Error {
  constructor(name: string) {
    super(`a receiver named '${name}' exists`);
  }
}

/** A change that is valid alone but not with what the receiver has (answered 400 naming the field). */
export class InvalidReceiver extends Error {
  constructor(readonly path: string, message: string) {
    super(message);
  }
}

/** `text` (an error's message) with the receiver's URL, wherever it is named, as shownUrl shows it. */
export function withoutUrl(text: string, url: string): string {
  const shown = shownUrl(url);
  return [url, new URL(url).href].reduce((t, u) => t.split(u).join(shown), text);
}

/** "https://hooks.slack.com/services/T0/B0/XXX" → "https://hooks.slack.com/services/…". */
export function shownUrl(url: string): string {
  const u = new URL(url);
  const [first, ...rest] = u.pathname.split("/").filter((p) => p !== "");
  const path = first === undefined ? "/" : `/${first}${rest.length > 0 ? "/…" : ""}`;
  return `${u.protocol}//${u.host}${path}${u.search ? "?…" : ""}`;
}

const pending = sql<number>`(SELECT count(*) FROM alert_notifications n WHERE n.receiver_id = "alert_receivers"."id"
  AND n.state = 'pending')`;

export async function listReceivers(db: Queryable): Promise<ReceiverView[]> {
  const rows = await db.select({ row: alertReceivers, pending }).from(alertReceivers).orderBy(asc(alertReceivers.name));
  return rows.map((r) => toView(r.row, r.pending));
}

export async function getReceiver(db: Queryable, id: string): Promise<ReceiverView | undefined> {
  const r = await db.select({ row: alertReceivers, pending }).from(alertReceivers).where(eq(alertReceivers.id, id))
    .get();
  return r === undefined ? undefined : toView(r.row, r.pending);
}

/**
 * A failed write of a receiver, as it may be logged: drizzle's error names the query's parameters (the URL, the
 * token, the header's value), so a database error is thrown on as its cause's message alone.
 */
function withoutSecrets(e: unknown): never {
  if (!(e instanceof DrizzleQueryError)) throw e; // NameTaken, InvalidReceiver: no secret in them
  const reason = e.cause instanceof Error ? e.cause.message : "the database refused the write";
  throw new Error(`writing the receiver failed: ${reason}`);
}

/** Throws NameTaken. */
export function createReceiver(db: Db, input: ReceiverInput, now: number): Promise<ReceiverView> {
  return writeTransaction(db, async (tx) => {
    await nameFree(tx, input.name);
    const id = newId();
    await tx.insert(alertReceivers).values({
      id,
      name: input.name,
      url: input.url,
      format: input.format,
      bearerToken: input.bearerToken ?? null,
      headerName: input.header?.name ?? null,
      headerValue: input.header?.value ?? null,
      enabled: input.enabled,
      createdAt: now,
      updatedAt: now,
    });
    return (await getReceiver(tx, id))!;
  }).catch(withoutSecrets);
}

/** Undefined for an unknown id; throws NameTaken. */
export function updateReceiver(
  db: Db,
  id: string,
  patch: ReceiverPatch,
  now: number,
): Promise<ReceiverView | undefined> {
  return writeTransaction(db, async (tx) => {
    const old = await tx.select().from(alertReceivers).where(eq(alertReceivers.id, id)).get();
    if (old === undefined) return undefined;
    if (patch.name !== undefined && patch.name !== old.name) await nameFree(tx, patch.name);
    const bearerToken = patch.bearerToken === undefined ? old.bearerToken : patch.bearerToken;
    const headerName = patch.header === undefined ? old.headerName : patch.header?.name ?? null;
    if (bearerToken && headerName?.toLowerCase() === "authorization") {
      throw new InvalidReceiver("bearerToken", "the receiver's custom header sets Authorization already");
    }
    await tx.update(alertReceivers).set({
      name: patch.name ?? old.name,
      url: patch.url ?? old.url,
      format: patch.format ?? old.format,
      bearerToken,
      headerName,
      headerValue: patch.header === undefined ? old.headerValue : patch.header?.value ?? null,
      enabled: patch.enabled ?? old.enabled,
      updatedAt: now,
    }).where(eq(alertReceivers.id, id));
    // A receiver fixed (or switched back on) gets what waits for it now, not after the backoff of its failures.
    if (Object.keys(patch).some((k) => k !== "name")) {
      await tx.update(alertNotifications).set({ nextAttemptAt: now }).where(
        and(eq(alertNotifications.receiverId, id), eq(alertNotifications.state, "pending")),
      );
    }
    return getReceiver(tx, id);
  }).catch(withoutSecrets);
}

/** Undefined for an unknown id; its notifications (pending included) go with it. */
export function deleteReceiver(db: Db, id: string): Promise<ReceiverView | undefined> {
  return writeTransaction(db, async (tx) => {
    const view = await getReceiver(tx, id);
    if (view === undefined) return undefined;
    // The attempts go with their notifications (foreign key, cascade); said here too for databases without it.
    await tx.run(sql`DELETE FROM alert_notification_attempts WHERE notification_id IN
      (SELECT id FROM alert_notifications WHERE receiver_id = ${id})`);
    await tx.delete(alertNotifications).where(eq(alertNotifications.receiverId, id));
    await tx.delete(alertReceivers).where(eq(alertReceivers.id, id));
    return view;
  });
}

async function nameFree(tx: Queryable, name: string) {
  const taken = await tx.select({ id: alertReceivers.id }).from(alertReceivers).where(eq(alertReceivers.name, name))
    .get();
  if (taken !== undefined) throw new NameTaken(name);
}

function toView(row: ReceiverRow, pendingCount: number): ReceiverView {
  return {
    id: row.id,
    name: row.name,
    url: shownUrl(row.url),
    format: row.format,
    bearerToken: row.bearerToken !== null,
    header: row.headerName,
    enabled: row.enabled,
    pending: Number(pendingCount),
    delivered: row.delivered,
    failedAttempts: row.failedAttempts,
    gaveUp: row.gaveUp,
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
  };
}

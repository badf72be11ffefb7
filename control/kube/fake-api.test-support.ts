// SPDX-License-Identifier: Apache-2.0
/**
 * A Kubernetes API server for tests (node:http on 127.0.0.1): lists answer
 * from `lists` (paged with limit/continue, as the real one), and each watch
 * request waits until the test takes it with nextWatch() and answers it:
 * open a stream and send events, bookmarks and errors into it, drop the
 * connection, or answer with a status such as 410 Gone.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo } from "node:net";

export type ListAnswer = { rv: string; items: unknown[] } | { status: number; body: string };

export interface WatchStream {
  send(type: "ADDED" | "MODIFIED" | "DELETED", object: unknown): void;
  bookmark(rv: string): void;
  /** An ERROR event in the stream (410: the resourceVersion is too old). */
  error(code: number, message: string): void;
  /** Any text, e.g. a line that is not JSON. */
  raw(text: string): void;
  /** The connection breaks mid-stream. */
  drop(): void;
  /** The server ends the watch cleanly (its timeout). */
  end(): void;
}

export interface WatchRequest {
  resource: string;
  rv: string;
  query: URLSearchParams;
  open(): WatchStream;
  answer(status: number, body?: string): void;
}

export interface FakeKubeApi {
  url: string;
  /** The bearer token it accepts (change it to rotate). */
  token: string;
  /** By resource (the last path segment: "services", "endpointslices"). */
  lists: Record<string, ListAnswer>;
  /** "services list", "services list continue=2", "endpointslices watch@100", … */
  requests: string[];
  nextWatch(resource: string): Promise<WatchRequest>;
  close(): Promise<void>;
}

/** Plain http, or https with `tls` (PEM key and certificate). */
export async function fakeKubeApi(token: string, tls?: { key: string; cert: string }): Promise<FakeKubeApi> {
  const pending = new Map<string, WatchRequest[]>();
  const waiting = new Map<string, ((w: WatchRequest) => void)[]>();
  const api: FakeKubeApi = {
    url: "",
    token,
    lists: {},
    requests: [],
    nextWatch(resource) {
      const queued = pending.get(resource)?.shift();
      if (queued) return Promise.resolve(queued);
      return new Promise((resolve) => waiting.set(resource, [...(waiting.get(resource) ?? []), resolve]));
    },
    close: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? "/", "http://x");
    const resource = u.pathname.split("/").at(-1)!;
    if (req.headers.authorization !== `Bearer ${api.token}`) return void res.writeHead(401).end("Unauthorized");
    if (u.searchParams.get("watch") !== "1") {
      const cont = u.searchParams.get("continue");
      api.requests.push(`${resource} list${cont ? ` continue=${cont}` : ""}`);
      const answer = api.lists[resource] ?? { status: 404, body: "not found" };
      if ("status" in answer) return void res.writeHead(answer.status).end(answer.body);
      const from = Number(cont ?? 0);
      const limit = Number(u.searchParams.get("limit") ?? answer.items.length);
      const next = from + limit < answer.items.length ? String(from + limit) : undefined;
      const body = {
        kind: "List",
        metadata: { resourceVersion: answer.rv, ...(next ? { continue: next } : {}) },
        items: answer.items.slice(from, from + limit),
      };
      return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    }
    const rv = u.searchParams.get("resourceVersion") ?? "";
    api.requests.push(`${resource} watch@${rv}`);
    const line = (o: unknown) => res.write(JSON.stringify(o) + "\n");
    const w: WatchRequest = {
      resource,
      rv,
      query: u.searchParams,
      answer: (status, body = "") => void res.writeHead(status).end(body),
      open() {
        res.writeHead(200, { "content-type": "application/json" });
        res.flushHeaders();
        return {
          send: (type, object) => line({ type, object }),
          bookmark: (version) =>
            line({ type: "BOOKMARK", object: { kind: "Bookmark", metadata: { resourceVersion: version } } }),
          error: (code, message) =>
            line({ type: "ERROR", object: { kind: "Status", status: "Failure", code, message } }),
          raw: (text) => res.write(text),
          drop: () => res.socket?.destroy(),
          end: () => res.end(),
        };
      },
    };
    const waiter = waiting.get(resource)?.shift();
    if (waiter) waiter(w);
    else pending.set(resource, [...(pending.get(resource) ?? []), w]);
  };
  const server = tls ? createTlsServer(tls, handler) : createServer(handler);
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  api.url = `${tls ? "https" : "http"}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return api;
}

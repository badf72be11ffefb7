// SPDX-License-Identifier: Apache-2.0
/**
 * A webhook receiver on loopback for in-process tests: a real HTTP server
 * that keeps every POST (headers and JSON body) and answers with the
 * statuses the test queues (200 once the queue is empty); and a free port
 * for the receiver processes of the process tests.
 */
import { createServer, type IncomingHttpHeaders } from "node:http";
import { type AddressInfo, createServer as createTcpServer } from "node:net";
import type { WebhookMessage } from "./payload.ts";
import type { NotifySettings } from "./settings.ts";

/** Delivery settings for tests that run the deliverer at pinned times: retries from 1 s to 8 s, 1 h to give up. */
export const TEST_NOTIFY: NotifySettings = {
  intervalMs: 1_000,
  timeoutMs: 2_000,
  retryMinMs: 1_000,
  retryMaxMs: 8_000,
  giveUpAfterMs: 3_600_000,
  retentionMs: 86_400_000,
  maxPending: 100,
  externalUrl: "http://control.test",
};

export interface Received {
  headers: IncomingHttpHeaders;
  body: WebhookMessage;
}

export interface TestReceiver {
  url: string;
  received: Received[];
  /** Statuses answered to the next POSTs, in order. */
  answers: number[];
  /** Awaited before each answer (a test's action while a POST is in flight). */
  beforeAnswer?: () => Promise<unknown>;
  close(): Promise<void>;
}

export async function startTestReceiver(): Promise<TestReceiver> {
  const received: Received[] = [];
  const answers: number[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", async () => {
      received.push({ headers: req.headers, body: JSON.parse(body) });
      await receiver.beforeAnswer?.();
      res.writeHead(answers.shift() ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const receiver: TestReceiver = {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    answers,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  return receiver;
}

/** A loopback port free right now, for a process the test starts (and may restart) on a fixed port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createTcpServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

// SPDX-License-Identifier: Apache-2.0
/**
 * A webhook receiver as its own process, for the notification tests
 * (control/notify/notifications.process.test.ts): listens on loopback, appends
 * every POST it gets to a file as one JSON line ({ at, path, headers, body }),
 * and answers the statuses given, in order, then 200.
 *
 *   node scripts/e2e/webhook-receiver.mjs PORT FILE [STATUS,STATUS,…]
 *
 * Prints "receiver listening on http://127.0.0.1:PORT" once it listens.
 */
import { appendFileSync } from "node:fs";
import { createServer } from "node:http";

const [port, file, statuses = ""] = process.argv.slice(2);
if (!port || !file) {
  console.error("usage: webhook-receiver.mjs PORT FILE [STATUS,…]");
  process.exit(2);
}
const answers = statuses.split(",").filter((s) => s !== "").map(Number);

const server = createServer((req, res) => {
  let body = "";
  req.on("data", (d) => (body += d));
  req.on("end", () => {
    const status = answers.shift() ?? 200;
    // Written before the answer: what the test reads was received, whatever the status.
    appendFileSync(
      file,
      JSON.stringify({ at: Date.now(), path: req.url, status, headers: req.headers, body: JSON.parse(body) }) + "\n",
    );
    res.writeHead(status).end();
  });
});
server.listen(
  Number(port),
  "127.0.0.1",
  () => console.log(`receiver listening on http://127.0.0.1:${server.address().port}`),
);
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));

// SPDX-License-Identifier: Apache-2.0
/** dig's output read back (dns_lab_commands.ts): answers in µs and in ms, timeouts, and a result missing. */
import { assertEquals, assertThrows } from "../../testing/assert.ts";
import { digBatch, parseDig, resolvConf } from "./dns_lab_commands.ts";

const answered = (status: string, time: string) =>
  `; <<>> DiG 9.18.49-1~deb12u3-Debian <<>> @10.0.0.1 -p 53 www.lab A\n` +
  `;; ->>HEADER<<- opcode: QUERY, status: ${status}, id: 4242\n;; Query time: ${time}\n;; SERVER: 10.0.0.1#53\n`;
const unanswered = `; <<>> DiG 9.18.49-1~deb12u3-Debian <<>> @10.0.0.2 -p 53 silent.lab A\n` +
  `;; communications error to 10.0.0.2#53: timed out\n; no servers could be reached\n`;

Deno.test("parseDig: each query's status and time, µs (dig -u) or ms, in order; no answer is a timeout", () => {
  const out = [answered("NOERROR", "1234 usec"), answered("NXDOMAIN", "7 msec"), unanswered].join("\n");
  assertEquals(parseDig(out, 3), [
    { status: "NOERROR", us: 1234, ms: 1 },
    { status: "NXDOMAIN", us: 7000, ms: 7 },
    { status: "timeout", us: -1, ms: -1 },
  ]);
});

Deno.test("parseDig: a result missing is an error naming the counts", () => {
  assertThrows(() => parseDig(answered("NOERROR", "5 usec"), 2), Error, "dig: 2 queries, 1 results");
});

Deno.test("digBatch and resolvConf: a line per query (port 53 unless named); the search list when given", () => {
  assertEquals(digBatch("10.0.0.1", ["a.lab A", "b.lab MX"]), "@10.0.0.1 -p 53 a.lab A\n@10.0.0.1 -p 53 b.lab MX\n");
  assertEquals(digBatch("10.0.0.1:5353", ["a.lab A"]), "@10.0.0.1 -p 5353 a.lab A\n");
  assertEquals(resolvConf("10.0.0.1"), "nameserver 10.0.0.1\noptions attempts:1 timeout:1\n");
  assertEquals(
    resolvConf("10.0.0.1", ["svc.lab", "lab"]),
    "nameserver 10.0.0.1\nsearch svc.lab lab\noptions attempts:1 timeout:1\n",
  );
});

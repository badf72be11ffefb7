// SPDX-License-Identifier: Apache-2.0
/**
 * The DNS lab's servers and clients as command lines, and dig's output read
 * back: plain data and parsing, no runtime API, so that the agent's kernel
 * tests (dns_lab.ts, under Deno) and the end-to-end test through the real
 * agent and control plane (scripts/e2e/dns.test.ts, under Node) run the
 * same resolver, responders and clients, and read dig the same way.
 */

/** Answers each query with the rcode its first label names (servfail-*, refused-*, formerr-*), or TC (tc-*). */
export const RESPONDER_PY = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
RCODES = {b"servfail": 2, b"refused": 5, b"formerr": 1}
while True:
    q, addr = s.recvfrom(4096)
    i = 12
    while q[i]:
        i += 1 + q[i]
    question = q[12:i + 5]
    label = q[13:13 + q[12]].split(b"-")[0].lower()
    tc = 0x02 if label == b"tc" else 0
    flags = bytes([0x80 | (q[2] & 0x79) | tc, 0x80 | RCODES.get(label, 0)])
    s.sendto(q[:2] + flags + b"\\x00\\x01" + b"\\x00" * 6 + question, addr)
`;

/** The responder (RESPONDER_PY) on ip:port. */
export const responderArgv = (ip: string, port = 53) => ["python3", "-c", RESPONDER_PY, ip, String(port)];

/** A UDP socket on ip:port that reads every query and never answers: its clients time out. */
export const silentArgv = (ip: string, port = 53) => [
  "python3",
  "-c",
  `import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n` +
  `s.bind(("${ip}", ${port}))\nwhile True:\n s.recv(65536)\n`,
];

export interface DnsmasqOptions {
  ip: string;
  port?: number;
  /** A hosts file ("address name" lines): the zone's A, AAAA and PTR answers. dnsmasq reads it unprivileged. */
  hostsFile: string;
  logFile: string;
  /** More dnsmasq options (--mx-host=..., --txt-record=..., --srv-host=...). */
  extra?: string[];
}

/**
 * Debian's dnsmasq in the foreground on ip:port (UDP and TCP), answering .lab from the hosts file and its
 * extra records, with no upstream: a name under .lab it does not know is NXDOMAIN.
 */
export function dnsmasqArgv(o: DnsmasqOptions): string[] {
  return [
    "dnsmasq",
    "--keep-in-foreground",
    "--conf-file=/dev/null",
    "--no-resolv",
    "--no-hosts",
    `--addn-hosts=${o.hostsFile}`,
    `--listen-address=${o.ip}`,
    "--bind-interfaces",
    `--port=${o.port ?? 53}`,
    "--pid-file=",
    "--local=/lab/",
    `--log-facility=${o.logFile}`,
    ...(o.extra ?? []),
  ];
}

/** A hosts file's text from name -> address. */
export const hostsText = (hosts: Record<string, string>) =>
  Object.entries(hosts).map(([name, ip]) => `${ip} ${name}\n`).join("");

/** dig's batch file (-f): each "name type" asked of server "ip" or "ip:port". */
export function digBatch(server: string, queries: string[]): string {
  const [ip, port] = server.split(":");
  return queries.map((q) => `@${ip} -p ${port ?? 53} ${q}\n`).join("");
}

/**
 * dig over a batch file, one query at a time: +tries=1 (no retry: each line is one query on the wire),
 * +timeout=1, no EDNS. Options before -f apply to every line (per line, dig ignores some, +tcp among them).
 * -u: query times in µs, read from the precise clock; in ms dig reads a coarse one (BIND's isc_time_now:
 * CLOCK_REALTIME_COARSE, a scheduler tick), and a time it prints can be short of the true one by up to a tick.
 */
export const digArgv = (batchFile: string, options: string[] = []) => [
  "dig",
  "-u",
  "+tries=1",
  "+timeout=1",
  "+noedns",
  ...options,
  "-f",
  batchFile,
];

/** dig exits 0, or 9 when some query had no answer (which its result says). */
export const DIG_OK_EXITS = [0, 9];

export interface DigResult {
  /** The answer's rcode (NOERROR, NXDOMAIN, SERVFAIL, ...), or "timeout". */
  status: string;
  /** dig's "Query time" in µs (-1: no answer): from sending the query to receiving its answer. */
  us: number;
  /** The same in whole ms, rounded down (-1: no answer). */
  ms: number;
}

/** Each query's result from dig's output, in order; throws unless there is one per query asked. */
export function parseDig(out: string, asked: number): DigResult[] {
  const results: DigResult[] = [];
  // each query prints a header with its status (or "no servers could be reached") and, when answered, its time
  for (const block of out.split(/\n(?=; <<>> DiG)/)) {
    if (!block.includes("<<>> DiG")) continue;
    const status = /status: (\w+)/.exec(block)?.[1] ?? "timeout";
    const time = /Query time: (\d+) (usec|msec)/.exec(block);
    const us = time ? Number(time[1]) * (time[2] === "msec" ? 1000 : 1) : -1;
    results.push({ status, us, ms: us < 0 ? -1 : Math.floor(us / 1000) });
  }
  if (results.length !== asked) throw new Error(`dig: ${asked} queries, ${results.length} results:\n${out}`);
  return results;
}

/**
 * A pod's resolv.conf (for /etc/netns/<netns>/, which `ip netns exec` mounts over /etc/resolv.conf): only
 * `server`, one try of 1 s, and the search list given (glibc tries a short name in each domain first).
 */
export function resolvConf(server: string, search: string[] = []): string {
  return `nameserver ${server}\n${search.length ? `search ${search.join(" ")}\n` : ""}options attempts:1 timeout:1\n`;
}

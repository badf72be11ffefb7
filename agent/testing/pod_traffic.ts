// SPDX-License-Identifier: Apache-2.0
/** Traffic between test pods (testing/pod_net.ts) that tests can count exactly. */
import type { PodNet } from "./pod_net.ts";
import { output, run } from "./run.ts";

/** Waits until a TCP port listens inside a namespace. */
export async function waitListening(netns: string, port: number, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await output(["ip", "netns", "exec", netns, "ss", "-ltnH", `sport = :${port}`])).trim()) {
    if (Date.now() > end) throw new Error(`nothing listens on port ${port} in ${netns} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Sends exactly `bytes` bytes over one TCP connection from pod `from` to a
 * sink (nc) in pod `to`, and waits until both ends are done (the sink exits
 * when the client closes). Throws unless the sink received every byte.
 */
export async function tcpTransfer(
  net: PodNet,
  from: string,
  to: string,
  port: number,
  bytes: number,
  timeoutSec = 20,
): Promise<void> {
  const dst = net.pod(to);
  const sink = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      dst.netns,
      "timeout",
      String(timeoutSec),
      "sh",
      "-c",
      `nc -l -p ${port} < /dev/null | wc -c`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  try {
    await waitListening(dst.netns, port);
    await run([
      "ip",
      "netns",
      "exec",
      net.pod(from).netns,
      "timeout",
      String(timeoutSec),
      "sh",
      "-c",
      `head -c ${bytes} /dev/zero | nc -N ${dst.ip} ${port}`,
    ]);
  } catch (e) {
    try {
      sink.kill("SIGTERM"); // timeout passes it on to nc
    } catch { /* gone already */ }
    await sink.output();
    throw e;
  }
  const out = await sink.output();
  const got = Number(new TextDecoder().decode(out.stdout).trim());
  if (got !== bytes) {
    throw new Error(
      `tcp transfer ${from} -> ${to}: the sink received ${got} of ${bytes} bytes ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
  // the sink closed last (LAST_ACK): done when the client's final ACK closed its socket
  const end = Date.now() + 5000;
  while ((await output(["ip", "netns", "exec", dst.netns, "ss", "-tanH", `sport = :${port}`])).trim()) {
    if (Date.now() > end) throw new Error(`tcp transfer ${from} -> ${to}: the sink's socket did not close`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A value of the pod's /proc/net/snmp "Tcp:" table (its own namespace's counters), e.g. RetransSegs. */
export async function tcpSnmp(netns: string, field: string): Promise<number> {
  const lines = (await output(["ip", "netns", "exec", netns, "cat", "/proc/net/snmp"])).split("\n").filter((l) =>
    l.startsWith("Tcp:")
  );
  const names = lines[0].split(/\s+/);
  const values = lines[1].split(/\s+/);
  const i = names.indexOf(field);
  if (i < 0) throw new Error(`no Tcp field ${field} in /proc/net/snmp`);
  return Number(values[i]);
}

/**
 * A UDP socket bound to `port` inside a namespace that reads and discards
 * whatever arrives, until close(): datagrams to it get no ICMP "port
 * unreachable", so a test sends exactly the packets it counts.
 */
export async function udpSink(netns: string, port: number, ms = 5000): Promise<{ close(): Promise<void> }> {
  const py = `import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.bind(("0.0.0.0", ${port}))\n` +
    `while True:\n s.recv(65536)\n`;
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", netns, "python3", "-c", py],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const close = async () => {
    try {
      child.kill("SIGKILL"); // ip netns exec execs python: this is its pid
    } catch { /* gone already */ }
    await child.status;
  };
  try {
    const end = Date.now() + ms;
    while (!(await output(["ip", "netns", "exec", netns, "ss", "-ulnH", `sport = :${port}`])).trim()) {
      if (Date.now() > end) throw new Error(`no UDP socket on port ${port} in ${netns} after ${ms} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { close };
}

// SPDX-License-Identifier: Apache-2.0
/**
 * Test networks: network namespaces joined by a veth pair, quiet enough that
 * packet counts are exact.
 *
 *   - IPv6 is disabled in the namespaces (and on the veths) before any link
 *     comes up: no router solicitations, MLD or DAD.
 *   - Each side has a permanent neighbour entry for the other: no ARP.
 *   - MAC addresses are fixed (locally administered), so frames are known.
 *
 * Everything is named with the `ek8s` prefix: namespaces
 * `ek8s-<pid>-<rand>-<n>{a,b}` (so leftovers of this process can be found),
 * interfaces `ek8s<n>a` / `ek8s<n>b` inside them. IPs are 10.244.x.y and only
 * ever live inside these namespaces. `close()` deletes the namespaces, which
 * destroys the veths with them.
 *
 * Uses the `ip` tool (tests only).
 */
import { inNs, output, run } from "./run.ts";

let counter = 0;
const rand = Math.floor(Math.random() * 36 ** 3).toString(36).padStart(3, "0");

/** Prefix of every namespace this process creates. */
export function netnsPrefix(): string {
  return `ek8s-${Deno.pid}-`;
}

export interface VethPairOptions {
  /** Namespace names (default generated). */
  nsA?: string;
  nsB?: string;
  /** Interface names, at most 15 characters (default ek8s<n>a / ek8s<n>b). */
  ifA?: string;
  ifB?: string;
  /** IPv4 addresses without prefix length (default 10.244.250.1 / .2). */
  ipA?: string;
  ipB?: string;
  prefixLen?: number;
  mtu?: number;
}

export interface VethPair {
  nsA: string;
  nsB: string;
  ifA: string;
  ifB: string;
  ipA: string;
  ipB: string;
  macA: string;
  macB: string;
  /** Interface index of ifA inside nsA / ifB inside nsB. */
  ifindexA: number;
  ifindexB: number;
  /** Deletes both namespaces (and so the veth pair). Harmless twice. */
  close(): Promise<void>;
}

function mac(n: number, side: number): string {
  const b = [0x02, 0xe8, (Deno.pid >> 8) & 0xff, Deno.pid & 0xff, n & 0xff, side];
  return b.map((x) => x.toString(16).padStart(2, "0")).join(":");
}

async function disableIpv6(ns: string, ifname?: string): Promise<void> {
  const keys = ifname
    ? [`net.ipv6.conf.${ifname}.disable_ipv6=1`]
    : ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"];
  await run(inNs(ns, ["sysctl", "-q", "-w", ...keys]));
}

/** Creates namespace `name` with IPv6 off and lo up. */
export async function createNetns(name: string): Promise<void> {
  if (!name.startsWith("ek8s")) throw new Error(`test namespaces must start with ek8s: ${name}`);
  await run(["ip", "netns", "add", name]);
  try {
    await disableIpv6(name);
    await run(["ip", "-n", name, "link", "set", "lo", "up"]);
  } catch (e) {
    await run(["ip", "netns", "del", name], { allowFail: true });
    throw e;
  }
}

/** Deletes namespace `name` if it exists. */
export async function deleteNetns(name: string): Promise<void> {
  const list = await output(["ip", "netns", "list"]);
  if (list.split("\n").some((l) => l.split(" ")[0] === name)) await run(["ip", "netns", "del", name]);
}

/** Two namespaces joined by a veth pair, addressed and with static neighbours. */
export async function createVethPair(options: VethPairOptions = {}): Promise<VethPair> {
  const n = ++counter;
  const base = `${netnsPrefix()}${rand}-${n}`;
  const nsA = options.nsA ?? `${base}a`;
  const nsB = options.nsB ?? `${base}b`;
  const ifA = options.ifA ?? `ek8s${n}a`;
  const ifB = options.ifB ?? `ek8s${n}b`;
  const ipA = options.ipA ?? "10.244.250.1";
  const ipB = options.ipB ?? "10.244.250.2";
  const plen = options.prefixLen ?? 24;
  for (const ip of [ipA, ipB]) {
    if (!ip.startsWith("10.244.")) throw new Error(`test IPs must be in 10.244.0.0/16: ${ip}`);
  }
  const macA = mac(n, 0xa), macB = mac(n, 0xb);
  const created: string[] = [];
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    const errors: string[] = [];
    for (const ns of created.reverse()) {
      try {
        await deleteNetns(ns);
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    if (errors.length) throw new Error(`cleanup of ${nsA}/${nsB} failed: ${errors.join("; ")}`);
  };
  try {
    await createNetns(nsA);
    created.push(nsA);
    await createNetns(nsB);
    created.push(nsB);
    const mtu = options.mtu ? ["mtu", String(options.mtu)] : [];
    await run([
      "ip",
      "link",
      "add",
      ifA,
      "address",
      macA,
      ...mtu,
      "netns",
      nsA,
      "type",
      "veth",
      "peer",
      "name",
      ifB,
      "address",
      macB,
      ...mtu,
      "netns",
      nsB,
    ]);
    await disableIpv6(nsA, ifA);
    await disableIpv6(nsB, ifB);
    await run(["ip", "-n", nsA, "addr", "add", `${ipA}/${plen}`, "dev", ifA]);
    await run(["ip", "-n", nsB, "addr", "add", `${ipB}/${plen}`, "dev", ifB]);
    await run(["ip", "-n", nsA, "neigh", "replace", ipB, "lladdr", macB, "dev", ifA, "nud", "permanent"]);
    await run(["ip", "-n", nsB, "neigh", "replace", ipA, "lladdr", macA, "dev", ifB, "nud", "permanent"]);
    await run(["ip", "-n", nsA, "link", "set", ifA, "up"]);
    await run(["ip", "-n", nsB, "link", "set", ifB, "up"]);
    const ifindexA = (await interfaceStats(nsA, ifA)).ifindex;
    const ifindexB = (await interfaceStats(nsB, ifB)).ifindex;
    return { nsA, nsB, ifA, ifB, ipA, ipB, macA, macB, ifindexA, ifindexB, close };
  } catch (e) {
    await close().catch(() => {});
    throw e;
  }
}

export interface InterfaceStats {
  ifindex: number;
  rxPackets: number;
  rxBytes: number;
  rxDropped: number;
  txPackets: number;
  txBytes: number;
  txDropped: number;
}

/** The kernel's own counters of `ifname` (in `ns`, or the host when null), from `ip -s -j link`. */
export async function interfaceStats(ns: string | null, ifname: string): Promise<InterfaceStats> {
  const args = ns ? ["ip", "-n", ns] : ["ip"];
  const json = JSON.parse(await output([...args, "-s", "-j", "link", "show", "dev", ifname]));
  const l = json[0];
  const s = l.stats64 ?? l.stats;
  return {
    ifindex: l.ifindex,
    rxPackets: s.rx.packets,
    rxBytes: s.rx.bytes,
    rxDropped: s.rx.dropped,
    txPackets: s.tx.packets,
    txBytes: s.tx.bytes,
    txDropped: s.tx.dropped,
  };
}

/** Counter differences b - a. */
export function statsDelta(a: InterfaceStats, b: InterfaceStats): Omit<InterfaceStats, "ifindex"> {
  return {
    rxPackets: b.rxPackets - a.rxPackets,
    rxBytes: b.rxBytes - a.rxBytes,
    rxDropped: b.rxDropped - a.rxDropped,
    txPackets: b.txPackets - a.txPackets,
    txBytes: b.txBytes - a.txBytes,
    txDropped: b.txDropped - a.txDropped,
  };
}

export interface PingResult {
  transmitted: number;
  received: number;
}

/**
 * Sends exactly `count` ICMP echo requests of `size` payload bytes from
 * inside `ns` (frame = size + 8 ICMP + 20 IPv4 + 14 Ethernet) and waits for
 * the replies. Throws unless every request was answered, unless allowLoss.
 */
export async function ping(
  ns: string,
  dst: string,
  options: { count: number; size?: number; interval?: number; timeoutSec?: number; allowLoss?: boolean },
): Promise<PingResult> {
  const count = options.count;
  const interval = options.interval ?? 0.01;
  const deadline = Math.ceil(count * interval + (options.timeoutSec ?? 1)) + 2;
  const res = await run(
    inNs(ns, [
      "ping",
      "-q",
      "-n",
      "-c",
      String(count),
      "-s",
      String(options.size ?? 56),
      "-i",
      String(interval),
      "-W",
      String(options.timeoutSec ?? 1),
      "-w",
      String(deadline),
      dst,
    ]),
    { allowFail: true },
  );
  const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(res.stdout);
  if (!m) {
    throw new Error(`ping from ${ns} to ${dst}: unexpected output (exit ${res.code}):\n${res.stdout}${res.stderr}`);
  }
  const r = { transmitted: Number(m[1]), received: Number(m[2]) };
  if (!options.allowLoss && (r.transmitted !== count || r.received !== count)) {
    throw new Error(
      `ping from ${ns} to ${dst}: ${r.transmitted} sent, ${r.received} received, expected ${count}:\n${res.stdout}`,
    );
  }
  return r;
}

/**
 * Sends `count` UDP datagrams of `size` payload bytes (1..1400) from inside
 * `ns` to dst:port, one socket and one write per datagram (bash's
 * /dev/udp; with firstSourcePort, python3 binding that port and the next
 * ones, so that each datagram is a flow of its own). Frame on the wire = size + 8 UDP + 20 IPv4 + 14 Ethernet. With
 * no listener the receiver answers each with ICMP port unreachable (and
 * drops the datagram: one kfree_skb each).
 */
export async function sendUdp(
  ns: string,
  dst: string,
  port: number,
  options: { count: number; size: number; firstSourcePort?: number },
): Promise<void> {
  const { count, size, firstSourcePort } = options;
  if (size < 1 || size > 1400) throw new Error(`sendUdp: size ${size} out of 1..1400`);
  if (!/^[0-9.]+$/.test(dst)) throw new Error(`sendUdp: not an IPv4 address: ${dst}`);
  if (firstSourcePort !== undefined) {
    // a flow each, for sure: the kernel's random ephemeral ports can repeat within a few hundred sockets
    if (!(Number.isInteger(firstSourcePort) && firstSourcePort >= 1024 && firstSourcePort + count <= 65536)) {
      throw new Error(`sendUdp: source ports ${firstSourcePort}+${count} out of 1024..65535`);
    }
    const py =
      `import socket\nfor i in range(${count}):\n s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n s.bind(("0.0.0.0", ${firstSourcePort} + i))\n s.sendto(b"x" * ${size}, ("${dst}", ${port}))\n s.close()\n`;
    await run(inNs(ns, ["python3", "-c", py]));
    return;
  }
  const script =
    `p=$(printf '%*s' ${size} '' | tr ' ' x); for i in $(seq ${count}); do printf '%s' "$p" > /dev/udp/${dst}/${port}; done`;
  await run(inNs(ns, ["bash", "-c", script]));
}

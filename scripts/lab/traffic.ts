// SPDX-License-Identifier: Apache-2.0
/**
 * Traffic between lab pods that tests can count exactly (the Node side's
 * equivalents of agent/testing/pod_traffic.ts), and test-only packet loss.
 * Every process runs inside a pod's netns under `timeout`, in its own process
 * group, and is killed by its pid if the caller gives up on it.
 */
import { execFile, execFileSync, spawn } from "node:child_process";
import { promisify } from "node:util";
import type { Counters } from "../cluster.ts";
import { REPO, waitFor } from "../procs.ts";
import { inNetns } from "./shell.ts";
import type { NodeSpec, PodSpec } from "./topology.ts";

const exec = promisify(execFile);

/** Ethernet + IPv4 + UDP headers: a datagram of payload n is an n + 42 byte frame. */
export const UDP_HDRS = 14 + 20 + 8;
/** Ethernet + IPv4 + TCP with timestamps (32): every segment but the SYN, whose options take 40. */
export const TCP_HDRS = 14 + 20 + 32;
export const SYN_HDRS = 14 + 20 + 40;
/** A reset answering a SYN (RST+ACK, no options). */
export const RST_FRAME = 14 + 20 + 20;

/** Upper bound of any one traffic command, seconds. */
const TIMEOUT_S = 30;

/** Processes started here and still running (process group ids). */
export const running = new Set<number>();

/** Kills what is still running, by process group. */
export function killRunning(): void {
  for (const pid of running) killGroup(pid);
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch { /* gone */ }
}

/** argv run inside the pod's netns, bounded in time. */
export const inPod = (pod: PodSpec, argv: string[]) => inNetns(pod.netns, ["timeout", String(TIMEOUT_S), ...argv]);

/** Runs argv to completion; rejects on a non-zero exit. */
export const run = (argv: string[]) => exec(argv[0], argv.slice(1), { encoding: "utf8" });

function background(argv: string[]): { pid: number; done: Promise<{ code: number | null; out: string }> } {
  const [cmd, ...args] = argv;
  const child = spawn(cmd, args, { detached: true, stdio: ["ignore", "pipe", "pipe"] });
  if (!child.pid) throw new Error(`cannot start ${argv.join(" ")}`);
  const pid = child.pid;
  running.add(pid);
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const done = new Promise<{ code: number | null; out: string }>((resolve) =>
    child.on("exit", (code) => {
      running.delete(pid);
      resolve({ code, out });
    })
  );
  return { pid, done };
}

export async function waitListening(pod: PodSpec, proto: "tcp" | "udp", port: number): Promise<void> {
  const flag = proto === "tcp" ? "-tlnH" : "-ulnH";
  await waitFor(
    `${proto} port ${port} listening in ${pod.name}`,
    async () => (await exec("ss", ["-N", pod.netns, flag, `sport = :${port}`])).stdout.trim() !== "",
    5000,
  );
}

/**
 * A server in one pod and a client in another: the server's argv runs in the
 * background until it listens on its port, then the client's runs to
 * completion (the server is killed if the client fails); resolves with the
 * server's exit code and output once it ends by itself.
 */
async function clientServer(
  server: { pod: PodSpec; argv: string[]; proto: "tcp" | "udp"; port: number },
  client: { pod: PodSpec; argv: string[] },
): Promise<{ code: number | null; out: string }> {
  const bg = background(inPod(server.pod, server.argv));
  try {
    await waitListening(server.pod, server.proto, server.port);
    await run(inPod(client.pod, client.argv));
  } catch (e) {
    killGroup(bg.pid);
    throw e;
  }
  return bg.done;
}

const UDP_SERVER = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
for _ in range(int(sys.argv[2])):
    d, a = s.recvfrom(65535)
    s.sendto(b"y" * int(sys.argv[3]), a)
`;
const UDP_CLIENT = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
for _ in range(int(sys.argv[3])):
    s.sendto(b"x" * int(sys.argv[4]), (sys.argv[1], int(sys.argv[2])))
    d, _a = s.recvfrom(65535)
    assert len(d) == int(sys.argv[5]), len(d)
`;

export interface UdpExchange {
  client: PodSpec;
  server: PodSpec;
  port: number;
  /** Datagrams each way. */
  n: number;
  /** Payload of each request and of each reply. */
  req: number;
  rep: number;
}

/**
 * n datagrams of `req` payload bytes from one client socket (one source port:
 * one flow), each answered by the server with `rep` bytes before the next is
 * sent. Frames: n × (req + 42) one way, n × (rep + 42) the other.
 */
export async function udpExchange(x: UdpExchange): Promise<void> {
  const { code, out } = await clientServer(
    {
      pod: x.server,
      argv: ["python3", "-c", UDP_SERVER, String(x.port), String(x.n), String(x.rep)],
      proto: "udp",
      port: x.port,
    },
    {
      pod: x.client,
      argv: ["python3", "-c", UDP_CLIENT, x.server.ip, String(x.port), String(x.n), String(x.req), String(x.rep)],
    },
  );
  if (code !== 0) throw new Error(`udp server in ${x.server.name}: exit ${code} ${out}`);
}

const STREAM_SERVER = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.settimeout(float(sys.argv[3]))
got = 0
try:
    while got < int(sys.argv[2]):
        s.recvfrom(65535)
        got += 1
except socket.timeout:
    pass
print(got)
`;
const STREAM_CLIENT = `
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
to, n, payload, every = (sys.argv[1], int(sys.argv[2])), int(sys.argv[3]), b"x" * int(sys.argv[4]), float(sys.argv[5]) / 1000
start = time.monotonic()
for i in range(n):
    late = start + i * every - time.monotonic()
    if late > 0:
        time.sleep(late)
    s.sendto(payload, to)
`;

export interface UdpStream {
  client: PodSpec;
  server: PodSpec;
  port: number;
  /** Datagrams, one way (client to server), of `size` payload bytes, one every `everyMs` on a fixed schedule. */
  n: number;
  size: number;
  everyMs: number;
}

/** The frame bytes per second a stream sends while it runs. */
export const streamRate = (x: Pick<UdpStream, "size" | "everyMs">) => ((x.size + UDP_HDRS) * 1000) / x.everyMs;

/**
 * A steady one-way UDP stream from one client socket (one flow): n × (size + 42)
 * frame bytes over n × everyMs, at streamRate. Throws unless the server got all n.
 */
export async function udpStream(x: UdpStream): Promise<void> {
  const seconds = (x.n * x.everyMs) / 1000;
  if (seconds > TIMEOUT_S - 5) {
    throw new Error(`a stream of ${seconds} s is longer than a traffic command may run (${TIMEOUT_S - 5} s)`);
  }
  const { code, out } = await clientServer(
    {
      pod: x.server,
      argv: ["python3", "-c", STREAM_SERVER, String(x.port), String(x.n), "3"],
      proto: "udp",
      port: x.port,
    },
    {
      pod: x.client,
      argv: [
        "python3",
        "-c",
        STREAM_CLIENT,
        x.server.ip,
        String(x.port),
        String(x.n),
        String(x.size),
        String(x.everyMs),
      ],
    },
  );
  if (code !== 0 || Number(out.trim()) !== x.n) {
    throw new Error(
      `udp stream ${x.client.name} -> ${x.server.name}: the server received ${out.trim()} of ${x.n} datagrams (exit ${code})`,
    );
  }
}

/**
 * Sends exactly `bytes` bytes over one TCP connection from `from` to an nc sink
 * in `to`, and returns when both ends have closed. Throws unless the sink got every byte.
 */
export async function tcpTransfer(from: PodSpec, to: PodSpec, port: number, bytes: number): Promise<void> {
  const { out } = await clientServer(
    { pod: to, argv: ["sh", "-c", `nc -l -p ${port} < /dev/null | wc -c`], proto: "tcp", port },
    { pod: from, argv: ["sh", "-c", `head -c ${bytes} /dev/zero | nc -N ${to.ip} ${port}`] },
  );
  if (Number(out.trim()) !== bytes) {
    throw new Error(`tcp ${from.name} -> ${to.name}: the sink received ${out.trim()} of ${bytes} bytes`);
  }
  // the sink closed last (LAST_ACK): done when the client's final ACK closed its socket
  await waitFor(
    `${to.name}'s socket on port ${port} closed`,
    async () => (await exec("ss", ["-N", to.netns, "-tanH", `sport = :${port}`])).stdout.trim() === "",
    5000,
  );
}

/** A connection attempt to a port nothing listens on: one SYN, one reset back. */
export async function refusedConnection(from: PodSpec, to: PodSpec, port: number): Promise<void> {
  const r = await run(inPod(from, ["nc", "-z", "-w", "2", to.ip, String(port)])).then(
    () => "connected",
    (e: { stderr?: string }) => e.stderr ?? "",
  );
  if (r === "connected") throw new Error(`${to.name}:${port} accepted a connection`);
}

/** A value of the pod's own /proc/net/snmp "Tcp:" table, e.g. RetransSegs. */
export function tcpSnmp(pod: PodSpec, field: string): number {
  const [cmd, ...args] = inNetns(pod.netns, ["cat", "/proc/net/snmp"]);
  const lines = execFileSync(cmd, args, { encoding: "utf8" }).split("\n").filter((l) => l.startsWith("Tcp:"));
  const names = lines[0].split(/\s+/), values = lines[1].split(/\s+/);
  const i = names.indexOf(field);
  if (i < 0) throw new Error(`no Tcp field ${field} in /proc/net/snmp`);
  return Number(values[i]);
}

/** The pod's counters as its host veth's statistics say them (turned round: what the veth sends, the pod receives). */
export function podView(node: NodeSpec, pod: PodSpec): Counters {
  const [link] = JSON.parse(
    execFileSync("ip", ["-n", node.netns, "-s", "-j", "link", "show", pod.hostVeth], { encoding: "utf8" }),
  );
  const s = link.stats64;
  return { rxPackets: s.tx.packets, rxBytes: s.tx.bytes, txPackets: s.rx.packets, txBytes: s.rx.bytes };
}

/**
 * Test-only loss: agent/testing/bpf/lossy.bpf.c (about 20 % of packets, at
 * random, counted in its map lossy_dropped) at tc egress of a device in a
 * node netns (a pod's host veth: loss on the way into the pod), at pref 1,
 * ahead of the agent's own filters. This kernel has no sch_netem.
 */
export class Lossy {
  #progId = 0;
  #createdQdisc = false;
  #attached = false;

  constructor(private readonly node: NodeSpec, private readonly dev: string, private readonly obj: string) {}

  /** Builds the object into `dir` (the object is not part of build/: it is a test program). */
  static compile(dir: string): string {
    const obj = `${dir}/lossy.bpf.o`;
    execFileSync("clang", [
      "-target",
      "bpf",
      "-mcpu=v3",
      "-O2",
      "-g",
      "-Wall",
      `-D__TARGET_ARCH_${process.arch === "arm64" ? "arm64" : "x86"}`,
      "-I",
      `${REPO}build/include`,
      "-I",
      `${REPO}bpf/include`,
      "-c",
      `${REPO}agent/testing/bpf/lossy.bpf.c`,
      "-o",
      obj,
    ]);
    return obj;
  }

  #tc(...args: string[]): string {
    return execFileSync("tc", ["-n", this.node.netns, ...args], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  }

  attach(): void {
    if (!this.#tc("qdisc", "show", "dev", this.dev).includes("clsact")) {
      this.#tc("qdisc", "add", "dev", this.dev, "clsact");
      this.#createdQdisc = true;
    }
    this.#tc(
      "filter",
      "add",
      "dev",
      this.dev,
      "egress",
      "pref",
      "1",
      "handle",
      "1",
      "bpf",
      "da",
      "obj",
      this.obj,
      "sec",
      "tc",
    );
    this.#attached = true;
    const filters = JSON.parse(this.#tc("-j", "filter", "show", "dev", this.dev, "egress")) as {
      pref: number;
      options?: { prog?: { id: number } };
    }[];
    this.#progId = filters.find((f) => f.pref === 1 && f.options?.prog)?.options?.prog?.id ?? 0;
    if (!this.#progId) throw new Error(`lossy: no program at pref 1 of ${this.dev} egress`);
  }

  /** Packets the program dropped so far. */
  dropped(): number {
    const prog = JSON.parse(
      execFileSync("bpftool", ["-j", "prog", "show", "id", String(this.#progId)], { encoding: "utf8" }),
    ) as { map_ids: number[] };
    const [entry] = JSON.parse(
      execFileSync("bpftool", ["-j", "map", "dump", "id", String(prog.map_ids[0])], { encoding: "utf8" }),
    ) as { formatted: { value: number } }[];
    return entry.formatted.value;
  }

  /** Removes the filter (and the qdisc if this made it): the program goes with its last reference. Harmless twice. */
  detach(): void {
    if (this.#attached) {
      try {
        this.#tc("filter", "del", "dev", this.dev, "egress", "pref", "1");
      } catch { /* the device is gone, and the filter with it */ }
      this.#attached = false;
    }
    if (this.#createdQdisc) {
      try {
        this.#tc("qdisc", "del", "dev", this.dev, "clsact");
      } catch { /* gone */ }
      this.#createdQdisc = false;
    }
  }

  /** Whether a filter sits at pref 1 of the device's egress (false when the device is gone). */
  present(): boolean {
    try {
      return (JSON.parse(this.#tc("-j", "filter", "show", "dev", this.dev, "egress")) as { pref: number }[]).some((f) =>
        f.pref === 1
      );
    } catch {
      return false;
    }
  }

  /** Kernel id of the loaded program (0 before attach). */
  get progId(): number {
    return this.#progId;
  }
}

/** Whether the kernel still has a program of this id. */
export function programExists(id: number): boolean {
  try {
    execFileSync("bpftool", ["prog", "show", "id", String(id)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

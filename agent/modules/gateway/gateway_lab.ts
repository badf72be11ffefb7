// SPDX-License-Identifier: Apache-2.0
/**
 * A place to test the gateway on the real kernel that touches nothing of
 * this machine's: namespaces of our own only (ek8s-<pid>-gw*), no route out.
 *
 *   outside (client 10.244.60.10) ──veth── node (10.244.60.1: gw0)
 *                                            ├─veth─ backend 1 (10.244.61.2; node side gb1 10.244.61.1)
 *                                            ├─veth─ backend 2 (10.244.62.2; gb2 10.244.62.1)
 *                                            └─veth─ backend 3 (10.244.63.2; gb3 10.244.63.1)
 *
 * The external IP 10.244.99.7 is on no interface: the client routes it (and
 * everything) to the node; backends route everything to the node. The node
 * forwards (ip_forward=1 in its namespace) and the gateway module runs there
 * on gw0, gb1..gb3 with 10.244.60.1 as node address and SNAT address. Every
 * neighbour is static (no ARP) unless LabOptions.dynamicNeighbours. Backends run a Python server on :8080 that
 * answers each line with its name. close() ends the processes by pid and
 * deletes the namespaces (and so every veth and attachment in them).
 */
import { alloc, libc } from "../../libbpf/ffi.ts";
import { BpfObject, withNetns } from "../../libbpf/mod.ts";
import type { LbService } from "../../../control/wire/services.ts";
import { PodTable } from "../../pods/directory.ts";
import { BPF_OBJ_DIR } from "../../testing/kernel.ts";
import { createNetns, deleteNetns, netnsPrefix } from "../../testing/netns.ts";
import { inNs, run } from "../../testing/run.ts";
import type { ModuleEnv } from "../module.ts";
import { DEFAULT_GATEWAY, GatewayModule, type GatewaySettings } from "./module.ts";

export const LAB = {
  client: "10.244.60.10",
  node: "10.244.60.1",
  external: "10.244.99.7",
  backends: ["10.244.61.2", "10.244.62.2", "10.244.63.2"],
};

const SERVER = `
import socket, sys, threading
name = sys.argv[1]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8080))
s.listen(1024)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("0.0.0.0", 8080))
def udp():
    while True:
        data, addr = u.recvfrom(2048)
        u.sendto(name.encode() + b" " + data, addr)
def serve(c):
    f = c.makefile("rb")
    try:
        for line in f:
            c.sendall((name + "\\n").encode())
    except OSError:
        pass
    c.close()
threading.Thread(target=udp, daemon=True).start()
print("ready", flush=True)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
`;

/**
 * many N: N connections, one line each; hold SECONDS: one connection, a line every 50 ms; bulk N: one connection,
 * N KiB at once; udp N: N datagrams, each answered; udpsend N: N datagrams from one socket, no answer awaited;
 * fill N: N connections held open at once, then one more (its outcome in "extra"), then all closed.
 * Prints JSON.
 */
const CLIENT = `
import json, os, socket, sys, time
mode, ip, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
out = {"names": {}, "errors": {}, "peer": None}
def note(k, v):
    out[k][v] = out[k].get(v, 0) + 1
def rounds():
    if mode == "loop":  # loop SECONDS STOPFILE RATE: "many" until SECONDS passed or STOPFILE exists, RATE per second
        t0, rate, i = time.monotonic(), float(sys.argv[6]), 0
        while time.monotonic() < t0 + n and not os.path.exists(sys.argv[5]):
            yield
            i += 1
            time.sleep(max(0, t0 + i / rate - time.monotonic()))
    else:
        yield from range(int(n))
if mode in ("many", "loop"):
    for _ in rounds():
        try:
            s = socket.create_connection((ip, port), timeout=3)
            out["peer"] = "%s:%d" % s.getpeername()
            s.sendall(b"hi\\n")
            note("names", s.makefile().readline().strip() or "(nothing)")
            # Closed both ways before the next one starts: no packet of this connection reaches the gateway after
            # later ones (a late FIN or ACK behind 64 newer flows would find its entry evicted and make a new flow).
            s.shutdown(socket.SHUT_WR)
            while s.recv(4096):
                pass
            s.close()
        except Exception as e:
            note("errors", type(e).__name__)
elif mode == "hold":
    s = socket.create_connection((ip, port), timeout=3)
    f = s.makefile()
    end = time.monotonic() + n
    while time.monotonic() < end:
        try:
            s.sendall(b"hi\\n")
            note("names", f.readline().strip() or "(nothing)")
        except Exception as e:
            note("errors", type(e).__name__)
            break
        time.sleep(0.05)
    s.close()
elif mode == "bulk":
    # n lines of 1 KiB written at once: the kernel sends them in GSO frames far larger than the MTU
    s = socket.create_connection((ip, port), timeout=10)
    s.sendall((b"x" * 1023 + b"\\n") * int(n))
    f = s.makefile()
    for i in range(int(n)):
        note("names", f.readline().strip() or "(nothing)")
    out["peer"] = "%s:%d" % s.getpeername()
    s.close()
elif mode == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    for i in range(int(n)):
        try:
            s.sendto(b"ping", (ip, port))
            data, src = s.recvfrom(2048)
            out["peer"] = "%s:%d" % src
            note("names", data.split()[0].decode())
        except Exception as e:
            note("errors", type(e).__name__)
elif mode == "fill":
    # n connections held open at once, a line each; then one more, with its outcome in "extra"; then all closed
    held = []
    for i in range(int(n)):
        try:
            s = socket.create_connection((ip, port), timeout=3)
            out["peer"] = "%s:%d" % s.getpeername()
            s.sendall(b"hi\\n")
            note("names", s.makefile().readline().strip() or "(nothing)")
            held.append(s)
        except Exception as e:
            note("errors", type(e).__name__)
    try:
        socket.create_connection((ip, port), timeout=2.5).close()
        out["extra"] = "connected"
    except Exception as e:
        out["extra"] = type(e).__name__
    for s in held:
        s.close()
elif mode == "udpsend":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(int(n)):
        s.sendto(b"ping", (ip, port))
        time.sleep(0.01)
print(json.dumps(out), flush=True)
`;

export interface ClientResult {
  names: Record<string, number>;
  errors: Record<string, number>;
  /** The address the client saw it talk to. */
  peer: string | null;
  /** fill: how the connection beyond the N held ones ended ("connected", or the Python exception's name). */
  extra?: string;
}

/** The lab's TCP service "web" (id 7): the external IP:80 and NodePort 30080 to the backends numbered (1-3) on :8080. */
export function labService(backends: number[]): LbService {
  return {
    id: 7,
    namespace: "default",
    name: "web",
    portName: "",
    vip: "10.96.0.10",
    port: 80,
    protocol: "TCP",
    affinity: "none",
    affinityTimeoutS: 10800,
    tableSize: 251,
    type: "LoadBalancer",
    nodePort: 30080,
    externalIPs: [LAB.external],
    backends: backends.map((i) => ({ id: i, ip: LAB.backends[i - 1]!, port: 8080, weight: 1, state: "active" })),
  };
}

/** How a lab differs from the default (static neighbours, no XDP on the peers, checksums offloaded). */
export interface LabOptions {
  /** No static neighbour entry anywhere: each side resolves the other by ARP when it first sends to it. */
  dynamicNeighbours?: boolean;
  /**
   * An XDP program (empty_xdp: XDP_PASS) on the client's and backends' ends of the veths: a veth takes
   * frames natively redirected to it (ndo_xdp_xmit) only while its peer runs XDP (or has GRO on); else the
   * kernel drops them.
   */
  peerXdp?: boolean;
  /**
   * The client and the backends send complete checksums (tx checksum offload off on their eth0, as a NIC
   * delivers them): native XDP sees no skb, so it cannot complete the partial checksums of offloaded sends.
   */
  fullChecksums?: boolean;
}

/** Turns tx checksum offload off (the legacy ethtool ioctl ETHTOOL_STXCSUM): the kernel then sends complete checksums. */
export function txChecksumOff(netns: string, ifname: string): void {
  const SIOCETHTOOL = 0x8946n, ETHTOOL_STXCSUM = 0x17;
  withNetns(netns, () => {
    const fd = libc().socket(2, /* AF_INET */ 2, /* SOCK_DGRAM */ 0);
    if (fd < 0) throw new Error("socket() failed");
    try {
      const value = alloc(8); // struct ethtool_value { cmd, data = 0 }
      new DataView(value.buffer).setUint32(0, ETHTOOL_STXCSUM, true);
      const ifr = alloc(40); // struct ifreq: name, then ifr_data
      ifr.set(new TextEncoder().encode(ifname));
      new DataView(ifr.buffer).setBigUint64(16, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(value))), true);
      if (libc().ioctl(fd, SIOCETHTOOL, ifr) !== 0) {
        throw new Error(`tx checksum offload off on ${netns}:${ifname} failed`);
      }
    } finally {
      libc().close(fd);
    }
  });
}

export class GatewayLab {
  readonly procs: Deno.ChildProcess[] = [];
  readonly #readers: ReadableStreamDefaultReader<Uint8Array>[] = [];
  #peerXdp: BpfObject | null = null;
  private constructor(
    readonly outside: string,
    readonly node: string,
    readonly backendNs: string[],
    readonly options: LabOptions,
  ) {}

  static async create(options: LabOptions = {}): Promise<GatewayLab> {
    const base = `${netnsPrefix()}gw${Math.floor(Math.random() * 1e6).toString(36)}`;
    const lab = new GatewayLab(`${base}o`, `${base}n`, [1, 2, 3].map((i) => `${base}b${i}`), options);
    try {
      await lab.#build();
      return lab;
    } catch (e) {
      await lab.close();
      throw e;
    }
  }

  async #build(): Promise<void> {
    for (const ns of [this.outside, this.node, ...this.backendNs]) await createNetns(ns);
    const ip = (ns: string, ...args: string[]) => run(["ip", "-n", ns, ...args]);
    const link = async (nsA: string, ifA: string, ipA: string, nsB: string, ifB: string, ipB: string, n: number) => {
      const macA = `02:e8:99:00:${n.toString(16).padStart(2, "0")}:0a`,
        macB = `02:e8:99:00:${n.toString(16).padStart(2, "0")}:0b`;
      await run([
        "ip",
        "link",
        "add",
        `ek8sgw${n}a`,
        "address",
        macA,
        "netns",
        nsA,
        "type",
        "veth",
        "peer",
        "name",
        `ek8sgw${n}b`,
        "address",
        macB,
        "netns",
        nsB,
      ]);
      await ip(nsA, "link", "set", `ek8sgw${n}a`, "name", ifA);
      await ip(nsB, "link", "set", `ek8sgw${n}b`, "name", ifB);
      await ip(nsA, "addr", "add", `${ipA}/24`, "dev", ifA);
      await ip(nsB, "addr", "add", `${ipB}/24`, "dev", ifB);
      await ip(nsA, "link", "set", ifA, "up");
      await ip(nsB, "link", "set", ifB, "up");
      if (this.options.dynamicNeighbours) return;
      await ip(nsA, "neigh", "replace", ipB, "lladdr", macB, "dev", ifA, "nud", "permanent");
      await ip(nsB, "neigh", "replace", ipA, "lladdr", macA, "dev", ifB, "nud", "permanent");
    };
    await link(this.outside, "eth0", LAB.client, this.node, "gw0", LAB.node, 0);
    await ip(this.outside, "route", "add", "default", "via", LAB.node);
    for (let i = 0; i < 3; i++) {
      const nodeSide = `10.244.${61 + i}.1`;
      await link(this.backendNs[i]!, "eth0", LAB.backends[i]!, this.node, `gb${i + 1}`, nodeSide, i + 1);
      await ip(this.backendNs[i]!, "route", "add", "default", "via", nodeSide);
    }
    await run(inNs(this.node, ["sysctl", "-qw", "net.ipv4.ip_forward=1"]));
    // the ends the node's gateway interfaces send to: the client's and the backends' eth0
    const peers = [this.outside, ...this.backendNs];
    if (this.options.fullChecksums) { for (const ns of peers) txChecksumOff(ns, "eth0"); }
    if (this.options.peerXdp) {
      this.#peerXdp = BpfObject.open(`${BPF_OBJ_DIR}/empty_xdp.bpf.o`).load();
      for (const ns of peers) {
        this.#peerXdp.program("empty_xdp").attachXdp({ ifname: "eth0", netns: ns }, { mode: "native" });
      }
    }
    for (let i = 0; i < 3; i++) await this.#server(i);
  }

  async #server(i: number): Promise<void> {
    const p = new Deno.Command("ip", {
      args: ["netns", "exec", this.backendNs[i]!, "python3", "-c", SERVER, `b${i + 1}`],
      stdout: "piped",
      stderr: "null",
      stdin: "null",
    }).spawn();
    this.procs.push(p);
    const reader = p.stdout.getReader();
    const { value } = await reader.read();
    this.#readers.push(reader);
    if (!new TextDecoder().decode(value).includes("ready")) throw new Error(`backend b${i + 1} did not start`);
  }

  /** The gateway interfaces of the node. */
  get interfaces(): string[] {
    return ["gw0", "gb1", "gb2", "gb3"];
  }

  /** A gateway module on the node's lab interfaces (node address and SNAT address 10.244.60.1), not started. */
  gateway(settings: Partial<GatewaySettings> = {}, log: (m: string) => void = () => {}): GatewayModule {
    return new GatewayModule(this.env(log), {
      ...DEFAULT_GATEWAY,
      interfaces: this.interfaces,
      addresses: [LAB.node],
      quarantineMs: 200,
      ...settings,
    });
  }

  env(log: (m: string) => void = () => {}): ModuleEnv {
    return {
      node: "gwlab",
      bpfDir: BPF_OBJ_DIR,
      pinDir: `/sys/fs/bpf/ek8s-test-gw-${Deno.pid}`,
      interfaces: [],
      netns: this.node,
      netnsIno: 0,
      excludeInterfaces: [],
      pods: new PodTable(null, true),
      log,
    };
  }

  /** Runs the client in the outside namespace (to the end). */
  async client(
    mode: "many" | "hold" | "udp" | "udpsend" | "bulk" | "fill",
    ip: string,
    port: number,
    n: number,
  ): Promise<ClientResult> {
    const r = await run(
      inNs(this.outside, ["timeout", "60", "python3", "-c", CLIENT, mode, ip, String(port), String(n)]),
    );
    return JSON.parse(r.stdout.trim().split("\n").pop()!);
  }

  /** Starts a "loop" client (connections like "many", `rate` a second, until `seconds` passed or stop()); stop() returns its result. */
  spawnLoop(ip: string, port: number, seconds: number, rate: number): { stop(): Promise<ClientResult> } {
    const stopFile = `${Deno.makeTempDirSync({ prefix: "ek8s-gw-loop-" })}/stop`;
    const p = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        this.outside,
        "python3",
        "-c",
        CLIENT,
        "loop",
        ip,
        String(port),
        String(seconds),
        stopFile,
        String(rate),
      ],
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).spawn();
    this.procs.push(p);
    const done = p.output().then((o) => {
      const out = new TextDecoder().decode(o.stdout).trim();
      if (o.code !== 0 || !out) throw new Error(`loop client: exit ${o.code}: ${new TextDecoder().decode(o.stderr)}`);
      return JSON.parse(out.split("\n").pop()!);
    });
    done.catch(() => {}); // awaited by stop()
    return {
      stop: async () => {
        Deno.writeTextFileSync(stopFile, "");
        try {
          return await done;
        } finally {
          Deno.removeSync(stopFile.slice(0, stopFile.lastIndexOf("/")), { recursive: true });
        }
      },
    };
  }

  /** Starts the client and returns its result when it ends. */
  clientInBackground(mode: "hold", ip: string, port: number, seconds: number): Promise<ClientResult> {
    const p = new Deno.Command("ip", {
      args: ["netns", "exec", this.outside, "python3", "-c", CLIENT, mode, ip, String(port), String(seconds)],
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).spawn();
    this.procs.push(p);
    return p.output().then((o) => JSON.parse(new TextDecoder().decode(o.stdout).trim().split("\n").pop()!));
  }

  async close(): Promise<void> {
    for (const p of this.procs) {
      try {
        p.kill("SIGKILL");
      } catch { /* ended */ }
      await p.status.catch(() => {});
    }
    for (const r of this.#readers) await r.cancel().catch(() => {});
    this.#peerXdp?.close(); // detaches it from the peers
    // the module's pins: stop() removes them, but a start that failed half-way may leave its directory
    try {
      Deno.removeSync(this.env().pinDir, { recursive: true });
    } catch { /* none */ }

    for (const ns of [this.outside, this.node, ...this.backendNs]) await deleteNetns(ns).catch(() => {});
  }
}

// SPDX-License-Identifier: Apache-2.0
/**
 * A place to test socket load balancing on the real kernel, that touches
 * nothing of this machine's: a client namespace and a server namespace
 * joined by a veth pair (testing/netns.ts), backends as extra addresses of
 * the server side (10.244.250.2, .3, ...; static neighbours, no ARP), a child
 * cgroup of our own that only the test's clients are moved into, and a pin
 * directory under /sys/fs/bpf/ebpf-k8s-test-<pid>-*. VIPs (10.96.x.y) have no
 * route in the client namespace: a connect the programs did not translate
 * fails there at once (ENETUNREACH) and never leaves it.
 *
 * Servers and clients are small Python programs (python3 -c): one server
 * process listens on every backend address (TCP: answers its backend's name
 * and closes; UDP: echoes with its name in front) and prints what each
 * backend accepted on SIGTERM; clients run inside the cgroup (the shell moves
 * itself in before `ip netns exec`, which remounts /sys) and print JSON.
 * close() ends every process by pid, removes the cgroup, the namespaces and
 * the pins, also after a failure.
 */
import { pathExists } from "../../libbpf/mod.ts";
import { PodTable } from "../../pods/directory.ts";
import { createTestCgroup, type TestCgroup } from "../../testing/bpf.ts";
import { BPF_OBJ_DIR, failMissing, isCI, requireKernel, type Requirement } from "../../testing/kernel.ts";
import { createVethPair, type VethPair } from "../../testing/netns.ts";
import { run } from "../../testing/run.ts";
import type { ModuleEnv } from "../module.ts";

const SERVER = `
import json, selectors, signal, socket, sys
port = int(sys.argv[1])
sel = selectors.DefaultSelector()
counts = {}
for spec in sys.argv[2:]:
    name, ip = spec.split("=")
    t = socket.socket()
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((ip, port))
    t.listen(4096)
    sel.register(t, selectors.EVENT_READ, ("tcp", name))
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((ip, port))
    sel.register(u, selectors.EVENT_READ, ("udp", name))
    counts[name] = {"tcp": 0, "udp": 0}
def stop(*_):
    print(json.dumps(counts), flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        kind, name = key.data
        if kind == "tcp":
            c, _ = key.fileobj.accept()
            counts[name]["tcp"] += 1
            try:
                c.sendall((name + "\\n").encode())
            except OSError:
                pass
            c.close()
        else:
            data, addr = key.fileobj.recvfrom(2048)
            counts[name]["udp"] += 1
            key.fileobj.sendto(name.encode() + b" " + data, addr)
`;

const CLIENT = `
import errno, json, os, socket, sys, time
mode, vip, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
stop_file = sys.argv[5] if len(sys.argv) > 5 else None
rate = float(sys.argv[6]) if len(sys.argv) > 6 else 0
family = socket.AF_INET
if mode.endswith("6"):  # an AF_INET6 socket reaching the IPv4 address as ::ffff:a.b.c.d
    mode, family, vip = mode[:-1], socket.AF_INET6, "::ffff:" + vip
def addr(a):
    return "%s:%d" % a[:2]
out = {"names": {}, "peers": {}, "sources": {}, "errors": {}, "maxMs": 0, "count": 0}
def note(kind, k):
    out[kind][k] = out[kind].get(k, 0) + 1
def failed(e):
    note("errors", errno.errorcode.get(e.errno, str(e)) if isinstance(e, OSError) and e.errno else type(e).__name__)
def tcp_once():
    s = socket.socket(family)
    s.settimeout(3)
    t = time.monotonic()
    try:
        s.connect((vip, port))
        note("peers", addr(s.getpeername()))
        note("names", s.makefile().readline().strip() or "(nothing)")
    except Exception as e:
        failed(e)
    out["maxMs"] = max(out["maxMs"], (time.monotonic() - t) * 1000)
    out["count"] += 1
    s.close()
if mode == "tcp":
    for i in range(int(n)):
        tcp_once()
elif mode == "loop":
    t0 = time.monotonic()
    while time.monotonic() < t0 + n and not (stop_file and os.path.exists(stop_file)):
        tcp_once()
        if rate:
            time.sleep(max(0, t0 + out["count"] / rate - time.monotonic()))
elif mode == "udp":
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(3)
    for i in range(int(n)):
        t = time.monotonic()
        try:
            s.sendto(b"ping%d" % i, (vip, port))
            data, src = s.recvfrom(2048)
            note("sources", addr(src))
            note("names", data.split()[0].decode())
        except Exception as e:
            failed(e)
        out["maxMs"] = max(out["maxMs"], (time.monotonic() - t) * 1000)
        out["count"] += 1
elif mode == "udp-connected":
    for i in range(int(n)):
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.settimeout(3)
        try:
            s.connect((vip, port))
            note("peers", addr(s.getpeername()))
            s.send(b"ping%d" % i)
            data, src = s.recvfrom(2048)
            note("sources", addr(src))
            note("names", data.split()[0].decode())
        except Exception as e:
            failed(e)
        out["count"] += 1
        s.close()
print(json.dumps(out), flush=True)
`;

/** tcp: a connection each; udp: sendto/recvfrom on one unconnected socket; udp-connected: a connected socket each. With "6": AF_INET6 sockets to ::ffff:<vip>. */
export type ClientMode = "tcp" | "udp" | "udp-connected" | "tcp6" | "udp6" | "udp-connected6";

export interface ClientResult {
  /** Connections (or datagrams answered) per backend name. */
  names: Record<string, number>;
  /** getpeername() of connected sockets, "ip:port" -> count. */
  peers: Record<string, number>;
  /** Source addresses of received datagrams. */
  sources: Record<string, number>;
  /** Failures by errno name. */
  errors: Record<string, number>;
  /** Slowest attempt, ms. */
  maxMs: number;
  count: number;
}

export interface ServerCounts {
  [name: string]: { tcp: number; udp: number };
}

export interface Backend {
  name: string;
  ip: string;
}

let labs = 0;

export const LB_OBJECT_PATH = `${BPF_OBJ_DIR}/sock_lb.bpf.o`;
const NEEDS: Requirement[] = ["root", "btf", "libbpf", "objects", "bpffs", "cgroup2", "iproute2", "bpftool"];

/**
 * Deno.test for the lb kernel tests: besides the usual preconditions, the
 * compiled sock_lb.bpf.o and python3 (servers and clients). Skipped with a
 * message naming what is missing, failed instead under CI=true.
 */
export function lbKernelTest(name: string, fn: () => Promise<void>): void {
  const missing = [...requireKernel(NEEDS).missing];
  if (!pathExists(LB_OBJECT_PATH)) {
    missing.push(`eBPF object not built: ${LB_OBJECT_PATH} (run: bash scripts/build-bpf.sh)`);
  }
  if (!["/usr/bin/python3", "/usr/local/bin/python3"].some((p) => pathExists(p))) {
    missing.push("python3 not found (the test's servers and clients)");
  }
  gatedTest("lb", name, missing, fn);
}

/** Deno.test that runs when nothing is `missing`; else skipped with a message naming it, failed instead under CI=true. */
export function gatedTest(kind: string, name: string, missing: string[], fn: () => Promise<void>): void {
  if (missing.length && !isCI()) {
    console.error(`skipping ${kind} kernel test: ${missing.join("; ")}`);
    Deno.test({ name: `${name} [skipped: ${missing.join("; ")}]`, ignore: true, fn });
    return;
  }
  Deno.test({
    name,
    fn: async () => {
      if (missing.length) failMissing(missing);
      await fn();
    },
  });
}

export class LbLab {
  readonly logs: string[] = [];
  readonly #procs = new Set<Deno.ChildProcess>();
  #tmp: string | null = null;

  private constructor(
    readonly net: VethPair,
    readonly cgroup: TestCgroup,
    readonly backends: Backend[],
    readonly pinDir: string,
  ) {}

  /** `backends` addresses on the server side, named b1, b2, ... */
  static async create(backends = 4): Promise<LbLab> {
    const n = ++labs;
    const net = await createVethPair({ ipA: "10.244.250.1", ipB: "10.244.250.2" });
    let cgroup: TestCgroup | null = null;
    try {
      const list: Backend[] = [];
      for (let i = 0; i < backends; i++) {
        const ip = `10.244.250.${2 + i}`;
        list.push({ name: `b${i + 1}`, ip });
        if (i > 0) {
          await run(["ip", "-n", net.nsB, "addr", "add", `${ip}/24`, "dev", net.ifB]);
          await run([
            "ip",
            "-n",
            net.nsA,
            "neigh",
            "replace",
            ip,
            "lladdr",
            net.macB,
            "dev",
            net.ifA,
            "nud",
            "permanent",
          ]);
        }
      }
      cgroup = await createTestCgroup();
      return new LbLab(net, cgroup, list, `/sys/fs/bpf/ebpf-k8s-test-${Deno.pid}-lb-${n}`);
    } catch (e) {
      await cgroup?.close().catch(() => {});
      await net.close().catch(() => {});
      throw e;
    }
  }

  readonly log = (m: string) => {
    this.logs.push(m);
    if (this.logs.length > 500) this.logs.shift();
  };

  /** A module environment: pins under this lab's directory, messages into logs. */
  env(module = "lb"): ModuleEnv {
    return {
      node: "ek8s-test-lb",
      bpfDir: BPF_OBJ_DIR,
      pinDir: `${this.pinDir}/ek8s-test-lb/${module}`,
      interfaces: [],
      netnsIno: 0,
      excludeInterfaces: [],
      pods: new PodTable(null, true),
      log: this.log,
    };
  }

  backend(name: string): Backend {
    const b = this.backends.find((x) => x.name === name);
    if (!b) throw new Error(`no backend ${name}`);
    return b;
  }

  /** Starts the server process on every backend address (or those named), TCP and UDP on `port`. */
  async serve(port: number, names = this.backends.map((b) => b.name)): Promise<{ stop(): Promise<ServerCounts> }> {
    const specs = names.map((n) => `${n}=${this.backend(n).ip}`);
    const child = new Deno.Command("ip", {
      args: ["netns", "exec", this.net.nsB, "python3", "-u", "-c", SERVER, String(port), ...specs],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#procs.add(child);
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    const line = async (): Promise<string> => {
      for (;;) {
        const i = buf.indexOf("\n");
        if (i >= 0) {
          const l = buf.slice(0, i);
          buf = buf.slice(i + 1);
          return l;
        }
        const { value, done } = await lines.read();
        if (done) return buf;
        buf += value;
      }
    };
    const first = await line();
    if (first !== "ready") {
      const err = await new Response(child.stderr).text();
      this.#procs.delete(child);
      throw new Error(`the backend server did not start: ${first} ${err}`);
    }
    return {
      stop: async () => {
        child.kill("SIGTERM");
        const counts = await line();
        await child.status;
        await lines.cancel().catch(() => {});
        await child.stderr.cancel().catch(() => {});
        this.#procs.delete(child);
        return JSON.parse(counts);
      },
    };
  }

  /** Runs a client in the cgroup and the client namespace to completion. */
  async client(
    mode: ClientMode,
    vip: string,
    port: number,
    n: number,
    options: { cgroup?: boolean } = {},
  ): Promise<ClientResult> {
    return await this.spawnClient(mode, vip, port, n, options).result();
  }

  /**
   * Starts a client (mode "loop": connects until `n` seconds passed or
   * stopLoop() was called, `rate` connections a second, default as fast as
   * it can). Outside the cgroup with `cgroup: false`.
   */
  spawnClient(
    mode: ClientMode | "loop",
    vip: string,
    port: number,
    n: number,
    options: { cgroup?: boolean; rate?: number } = {},
  ): { result(): Promise<ClientResult> } {
    const inCgroup = options.cgroup ?? true;
    const stopFile = `${this.#tmpDir()}/stop-${crypto.randomUUID()}`;
    const py = ["python3", "-c", CLIENT, mode, vip, String(port), String(n), stopFile, String(options.rate ?? 0)];
    const child = new Deno.Command(inCgroup ? "sh" : "ip", {
      args: inCgroup
        ? ["-c", `echo $$ > ${this.cgroup.path}/cgroup.procs && exec ip netns exec ${this.net.nsA} "$@"`, "sh", ...py]
        : ["netns", "exec", this.net.nsA, ...py],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#procs.add(child);
    const done = child.output().then((out) => {
      this.#procs.delete(child);
      const stdout = new TextDecoder().decode(out.stdout);
      if (out.code !== 0) {
        throw new Error(`client ${mode} failed (exit ${out.code}): ${new TextDecoder().decode(out.stderr)}`);
      }
      return JSON.parse(stdout) as ClientResult;
    });
    done.catch(() => {}); // awaited by result(); not an unhandled rejection before that
    this.#loops.push(stopFile);
    return { result: () => done };
  }

  readonly #loops: string[] = [];

  /** Ends every loop client (they stop before their next connection). */
  async stopLoops(): Promise<void> {
    for (const f of this.#loops) await Deno.writeTextFile(f, "");
  }

  #tmpDir(): string {
    this.#tmp ??= Deno.makeTempDirSync({ prefix: "ek8s-lb-" });
    return this.#tmp;
  }

  /** Programs attached to the cgroup now (bpftool cgroup show). */
  async cgroupPrograms(): Promise<{ id: number; name: string; attach_type: string }[]> {
    const out = (await run(["bpftool", "cgroup", "show", this.cgroup.path, "-j"])).stdout.trim();
    return out ? JSON.parse(out) : [];
  }

  async close(): Promise<void> {
    await killAll(this.#procs);
    const errors: string[] = [];
    for (
      const step of [
        () => this.cgroup.close(),
        () => this.net.close(),
        () => Deno.remove(this.pinDir, { recursive: true }).catch(() => {}),
      ]
    ) {
      try {
        await step();
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    if (this.#tmp) await Deno.remove(this.#tmp, { recursive: true }).catch(() => {});
    if (errors.length) throw new Error(`lb lab cleanup: ${errors.join("; ")}`);
  }
}

/** Runs `fn` with a lab, closed afterwards; a failure carries the module's log. */
export async function withLbLab(backends: number, fn: (lab: LbLab) => Promise<void>): Promise<void> {
  const lab = await LbLab.create(backends);
  try {
    await fn(lab);
  } catch (e) {
    throw new Error(`${(e as Error).message}\nlb log:\n  ${lab.logs.join("\n  ")}`, { cause: e });
  } finally {
    await lab.close();
  }
}

/** Ends every process of `procs` (SIGKILL, by its pid) and waits for it; the set is emptied. */
export async function killAll(procs: Set<Deno.ChildProcess> | Deno.ChildProcess[]): Promise<void> {
  for (const p of procs) {
    try {
      p.kill("SIGKILL");
    } catch { /* gone */ }
    await p.status.catch(() => {});
  }
  if (procs instanceof Set) procs.clear();
}

// SPDX-License-Identifier: Apache-2.0
/**
 * A place to test socket acceleration on the real kernel, touching nothing
 * of this machine's: two "pods" (network namespaces joined by a veth pair,
 * from lb_lab.ts: client 10.244.250.1, server 10.244.250.2), a child cgroup
 * of our own that every server and client is moved into before it enters its
 * namespace, and the module with both addresses taken as this node's pods.
 *
 * The transfer server (python3; on "::" a dual-stack AF_INET6 listener
 * whose IPv4 connections are IPv4-mapped) and client check every byte: the client
 * sends a header (how much it wants back) and a random payload, then
 * half-closes; the server answers with the SHA-256 and length of what it
 * received, then the random response and its SHA-256, and closes. The client
 * prints JSON with what matched. Processes are ended by pid in close(),
 * also after a failure.
 */
import type { PodInfo } from "../../../control/wire/pods.ts";
import { pathExists } from "../../libbpf/mod.ts";
import { PodTable } from "../../pods/directory.ts";
import { BPF_OBJ_DIR, requireKernel } from "../../testing/kernel.ts";
import { gatedTest, killAll, LbLab } from "../lb/lb_lab.ts";
import type { ModuleEnv } from "../module.ts";

export const CLIENT_IP = "10.244.250.1";
export const SERVER_IP = "10.244.250.2";
export const ACCEL_OBJECT_PATH = `${BPF_OBJ_DIR}/sock_accel.bpf.o`;

export const SERVER = `
import hashlib, os, socket, struct, sys, threading
port = int(sys.argv[2])
ls = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
if ls.family == socket.AF_INET6:
    ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # dual-stack: IPv4 clients arrive as ::ffff:a.b.c.d
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((sys.argv[1], port))
ls.listen(4096)
def recvn(c, n):
    b = b""
    while len(b) < n:
        d = c.recv(n - len(b))
        if not d:
            raise EOFError
        b += d
    return b
def handle(c):
    try:
        want = struct.unpack("!Q", recvn(c, 8))[0]
        h, n = hashlib.sha256(), 0
        while True:
            d = c.recv(1 << 20)
            if not d:
                break
            h.update(d); n += len(d)
        c.sendall(h.digest() + struct.pack("!Q", n))
        rh = hashlib.sha256()
        left = want
        while left:
            chunk = os.urandom(min(left, 1 << 18))
            rh.update(chunk); c.sendall(chunk); left -= len(chunk)
        c.sendall(rh.digest())
    except Exception as e:
        print("server error", e, file=sys.stderr, flush=True)
    finally:
        c.close()
print("ready", flush=True)
while True:
    c, _ = ls.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
`;

export const CLIENT = `
import hashlib, json, os, socket, struct, sys, threading, time
ip, port, conns, send, want = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
barrier = sys.argv[6] if len(sys.argv) > 6 else ""
out = {"ok": 0, "bad": [], "bytesSent": 0, "bytesReceived": 0}
lock = threading.Lock()
socks = []
for i in range(conns):
    s = socket.create_connection((ip, port), timeout=60)
    socks.append(s)
if barrier:
    print("connected", flush=True)
    while not os.path.exists(barrier):
        time.sleep(0.01)
def one(s):
    try:
        h = hashlib.sha256()
        s.sendall(struct.pack("!Q", want))
        left = send
        while left:
            chunk = os.urandom(min(left, 1 << 18))
            h.update(chunk); s.sendall(chunk); left -= len(chunk)
        s.shutdown(socket.SHUT_WR)
        buf = bytearray()
        while True:
            d = s.recv(1 << 20)
            if not d:
                break
            buf += d
        ok = len(buf) == 40 + want + 32 and buf[:32] == h.digest() and struct.unpack("!Q", buf[32:40])[0] == send \\
            and hashlib.sha256(buf[40:40 + want]).digest() == bytes(buf[40 + want:])
        with lock:
            if ok:
                out["ok"] += 1
            else:
                out["bad"].append(len(buf))
            out["bytesSent"] += send + 8
            out["bytesReceived"] += len(buf)
    except Exception as e:
        with lock:
            out["bad"].append(repr(e))
    finally:
        s.close()
ts = [threading.Thread(target=one, args=(s,)) for s in socks]
for t in ts: t.start()
for t in ts: t.join()
print(json.dumps(out), flush=True)
`;

export interface TransferResult {
  ok: number;
  bad: unknown[];
  bytesSent: number;
  bytesReceived: number;
}

/** Deno.test for the accel kernel tests; skipped naming what is missing (failed under CI=true). */
export function accelKernelTest(name: string, fn: () => Promise<void>, extra: { needs?: string[] } = {}): void {
  const missing = [
    ...requireKernel(["root", "btf", "libbpf", "objects", "bpffs", "cgroup2", "iproute2", "bpftool"]).missing,
  ];
  if (!pathExists(ACCEL_OBJECT_PATH)) {
    missing.push(`eBPF object not built: ${ACCEL_OBJECT_PATH} (run: bash scripts/build-bpf.sh)`);
  }
  for (const cmd of ["python3", ...(extra.needs ?? [])]) {
    if (!["/usr/bin", "/usr/sbin", "/usr/local/bin"].some((d) => pathExists(`${d}/${cmd}`))) {
      missing.push(`${cmd} not found (scripts/setup.sh installs it)`);
    }
  }
  gatedTest("accel", name, missing, fn);
}

export class AccelLab {
  readonly #procs = new Set<Deno.ChildProcess>();
  #tmp: string | null = null;

  private constructor(readonly lab: LbLab) {}

  static async create(): Promise<AccelLab> {
    return new AccelLab(await LbLab.create(1));
  }

  get logs(): string[] {
    return this.lab.logs;
  }

  get cgroup(): string {
    return this.lab.cgroup.path;
  }

  /** The two pods as the pod directory lists them: "client" (app=client) and "server" (app=server), namespace test. */
  env(): ModuleEnv {
    const pod = (name: string, ip: string): PodInfo => ({
      uid: `uid-${name}`,
      namespace: "test",
      name,
      labels: { app: name },
      ips: [ip],
      hostNetwork: false,
    });
    const pods = [pod("client", CLIENT_IP), pod("server", SERVER_IP)];
    return {
      ...this.lab.env("accel"),
      pods: new PodTable(
        { pods: () => pods, start() {}, stop: () => Promise.resolve(), description: "accel lab" },
        true,
      ),
    };
  }

  tmp(): string {
    this.#tmp ??= Deno.makeTempDirSync({ prefix: "ek8s-accel-" });
    return this.#tmp;
  }

  /** Runs `argv` in the cgroup and the client ("a") or server ("b") namespace. */
  spawn(
    side: "a" | "b",
    argv: string[],
    options: { stdout?: "piped" | "null"; inCgroup?: boolean } = {},
  ): Deno.ChildProcess {
    const ns = side === "a" ? this.lab.net.nsA : this.lab.net.nsB;
    const inCgroup = options.inCgroup ?? true;
    const child = new Deno.Command("sh", {
      args: [
        "-c",
        `${inCgroup ? `echo $$ > ${this.cgroup}/cgroup.procs && ` : ""}exec ip netns exec ${ns} "$@"`,
        "sh",
        ...argv,
      ],
      stdin: "null",
      stdout: options.stdout ?? "piped",
      stderr: "piped",
    }).spawn();
    this.#procs.add(child);
    child.status.then(() => this.#procs.delete(child));
    return child;
  }

  /** Starts the transfer server on SERVER_IP:port (or `bind`:port, e.g. "::"); resolves once it listens. */
  async serve(port: number, bind = SERVER_IP): Promise<void> {
    const child = this.spawn("b", ["python3", "-u", "-c", SERVER, bind, String(port)]);
    const first = await firstLine(child.stdout);
    if (first !== "ready") {
      throw new Error(`transfer server did not start: ${first} ${await new Response(child.stderr).text()}`);
    }
  }

  /** `conns` concurrent connections, each sending `send` bytes and asking for `want`. */
  async transfer(
    port: number,
    conns: number,
    send: number,
    want: number,
    to: { ip: string; port: number } = { ip: SERVER_IP, port },
  ): Promise<TransferResult> {
    const child = this.spawn("a", [
      "python3",
      "-u",
      "-c",
      CLIENT,
      to.ip,
      String(to.port),
      String(conns),
      String(send),
      String(want),
    ]);
    const out = await child.output();
    if (out.code !== 0) {
      throw new Error(`transfer client failed (${out.code}): ${new TextDecoder().decode(out.stderr)}`);
    }
    return JSON.parse(new TextDecoder().decode(out.stdout));
  }

  /** A client that connects first, waits for release(), then transfers: its sockets existed before whatever happens in between. */
  async connectFirst(
    port: number,
    conns: number,
    send: number,
    want: number,
  ): Promise<{ release(): Promise<TransferResult> }> {
    const barrier = `${this.tmp()}/go-${crypto.randomUUID()}`;
    const child = this.spawn("a", [
      "python3",
      "-u",
      "-c",
      CLIENT,
      SERVER_IP,
      String(port),
      String(conns),
      String(send),
      String(want),
      barrier,
    ]);
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    while (!buf.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`client ended before connecting: ${buf} ${await new Response(child.stderr).text()}`);
      buf += value;
    }
    if (!buf.startsWith("connected")) throw new Error(`client: ${buf}`);
    return {
      release: async () => {
        await Deno.writeTextFile(barrier, "");
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
        }
        const status = await child.status;
        if (!status.success) throw new Error(`transfer client failed: ${await new Response(child.stderr).text()}`);
        return JSON.parse(buf.split("\n")[1]);
      },
    };
  }

  /** Ends every process of the lab (servers, Nginx with its workers, Redis), by pid. */
  async stopApps(): Promise<void> {
    await killAll(this.#procs);
    // what our processes forked (Nginx workers) is still in our cgroup, or (outside it) in our namespaces: ended by pid
    for (let i = 0; i < 50; i++) {
      const pids = new Set(
        (await Deno.readTextFile(`${this.cgroup}/cgroup.procs`).catch(() => "")).split("\n").filter(Boolean).map(
          Number,
        ),
      );
      for (const ns of [this.lab.net.nsA, this.lab.net.nsB]) {
        const out = await new Deno.Command("ip", { args: ["netns", "pids", ns], stdout: "piped", stderr: "null" })
          .output();
        for (const p of new TextDecoder().decode(out.stdout).split("\n").filter(Boolean)) pids.add(Number(p));
      }
      if (!pids.size) break;
      for (const pid of pids) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch { /* gone */ }
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async close(): Promise<void> {
    await this.stopApps();
    if (this.#tmp) await Deno.remove(this.#tmp, { recursive: true }).catch(() => {});
    await this.lab.close();
  }
}

async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  while (!buf.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
  }
  reader.releaseLock();
  return buf.split("\n")[0];
}

/** Runs `fn` with a lab, closed afterwards; a failure carries the module's log. */
export async function withAccelLab(fn: (lab: AccelLab) => Promise<void>): Promise<void> {
  const lab = await AccelLab.create();
  try {
    await fn(lab);
  } catch (e) {
    throw new Error(`${(e as Error).message}\naccel log:\n  ${lab.logs.join("\n  ")}`, { cause: e });
  } finally {
    await lab.close();
  }
}

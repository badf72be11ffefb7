// SPDX-License-Identifier: Apache-2.0
/**
 * A place to test DNS counting on the real kernel that touches nothing of
 * this machine's: pods of a test node (testing/pod_net.ts: namespaces on a
 * bridge with no way out), the DNS program on their host veths, and in them
 *
 *   - resolvers: Debian's dnsmasq in the foreground with a configuration and
 *     hosts file the test writes, bound to the pod's address, no upstream
 *     (names under .lab it does not know are NXDOMAIN);
 *   - a responder (python3) answering every query with the rcode, or the TC
 *     bit, that its first label asks for: "servfail-1.lab" gets SERVFAIL;
 *   - a silent server (a UDP socket that reads and never answers): timeouts;
 *   - clients: dig (bind9-dnsutils) in batch mode, glibc's resolver
 *     (python3's getaddrinfo, the pod's own resolv.conf), and a python3
 *     sender of hand-made DNS messages (malformed ones, thousands of names),
 *     and dnsperf (queries as fast as a resolver answers them).
 *
 * The servers' and clients' command lines, and dig's output read back, are in
 * dns_lab_commands.ts, which the end-to-end test (scripts/e2e/dns.test.ts) runs too.
 *
 * Every process is ended by its pid at close(), which also detaches and
 * unloads the program and deletes the namespaces, after a failure too.
 */
import { pathExists } from "../../libbpf/mod.ts";
import { listInterfaces } from "../../netif.ts";
import { BPF_OBJ_DIR, requireKernel } from "../../testing/kernel.ts";
import { PodNet } from "../../testing/pod_net.ts";
import { output, run } from "../../testing/run.ts";
import { gatedTest, killAll } from "../lb/lb_lab.ts";
import {
  DIG_OK_EXITS,
  digArgv,
  digBatch,
  type DigResult,
  dnsmasqArgv,
  hostsText,
  parseDig,
  resolvConf,
  responderArgv,
  silentArgv,
} from "./dns_lab_commands.ts";
import { DEFAULT_DNS, DnsReader, type DnsSettings } from "./reader.ts";

export type { DigResult };

export const DNS_OBJECT_PATH = `${BPF_OBJ_DIR}/dns.bpf.o`;

/** The lab's commands and the Debian packages they come in. */
const LAB_COMMANDS = [
  ["python3", "python3"],
  ["dnsmasq", "dnsmasq-base"],
  ["dig", "bind9-dnsutils"],
  ["dnsperf", "dnsperf"],
] as const;

/** Deno.test for the DNS kernel tests: skipped naming what is missing (failed under CI=true). */
export function dnsKernelTest(name: string, fn: () => Promise<void>): void {
  const missing = [...requireKernel(["root", "btf", "libbpf", "objects", "bpffs", "iproute2", "bpftool"]).missing];
  if (!pathExists(DNS_OBJECT_PATH)) {
    missing.push(`eBPF object not built: ${DNS_OBJECT_PATH} (run: bash scripts/build-bpf.sh)`);
  }
  for (const [cmd, pkg] of LAB_COMMANDS) {
    if (!["/usr/bin", "/usr/sbin", "/usr/local/bin"].some((d) => pathExists(`${d}/${cmd}`))) {
      missing.push(`${cmd} not found (${pkg}; scripts/setup.sh installs it)`);
    }
  }
  gatedTest("dns", name, missing, fn);
}

/** Sends hand-made DNS messages over UDP from one socket: argv = ip port kind count. */
const SENDER = `
import socket, struct, sys
ip, port, kind, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
def header(i, flags=0x0100, qd=1):
    return struct.pack("!HHHHHH", i & 0xffff, flags, qd, 0, 0, 0)
def name(text):
    return b"".join(bytes([len(l)]) + l.encode() for l in text.split(".")) + b"\\x00"
A = b"\\x00\\x01\\x00\\x01"
for i in range(count):
    if kind == "short-header":
        m = header(i)[:7]
    elif kind == "long-name":  # 300 bytes of labels: over the 255 of RFC 1035
        m = header(i) + b"".join(bytes([59]) + b"x" * 59 for _ in range(5)) + b"\\x00" + A
    elif kind == "pointer":  # the question's name is a pointer to offset 12
        m = header(i) + b"\\xc0\\x0c" + A
    elif kind == "bad-label":  # label type 01: an extended label (RFC 6891), not parsed
        m = header(i) + b"\\x41abc\\x00" + A
    elif kind == "short-question":  # the packet ends inside the name
        m = header(i) + b"\\x07exam"
    elif kind == "no-type":  # the name ends, its type and class are missing
        m = header(i) + name("cut.lab")
    elif kind == "two-questions":
        m = header(i, qd=2) + name("a.lab") + A + name("b.lab") + A
    elif kind == "response-to-server":  # QR=1 towards a DNS port
        m = header(i, flags=0x8180) + name("qr.lab") + A
    elif kind == "names":  # count distinct names, each queried once, ids 0..count-1
        m = header(i) + name("n%d.bulk.lab" % i) + A
    else:
        raise SystemExit("unknown kind " + kind)
    s.sendto(m, (ip, port))
`;

export interface ResolverOptions {
  port?: number;
  /** name -> IPv4 or IPv6 address (hosts file lines). */
  hosts?: Record<string, string>;
  /** More dnsmasq options (--cname=..., --mx-host=..., ...). */
  extra?: string[];
}

let labs = 0;

export class DnsLab {
  readonly #procs = new Set<Deno.ChildProcess>();
  #closed = false;
  /** /etc/netns/<pod netns> directories made for resolv.conf files. */
  readonly #etc = new Set<string>();

  private constructor(
    readonly net: PodNet,
    private readonly ownReader: DnsReader | null,
    readonly dir: string,
    /** Whether close() deletes the namespaces (false: they are someone else's, e.g. an agent rig's). */
    private readonly ownsNet: boolean,
  ) {}

  /** The lab's own DNS program (labs made by create()). */
  get reader(): DnsReader {
    if (!this.ownReader) throw new Error("this dns lab runs no program of its own (made by over())");
    return this.ownReader;
  }

  /** A node of `pods` pods, the DNS program on every host veth. */
  static async create(pods: number, settings: Partial<DnsSettings> = {}): Promise<DnsLab> {
    const net = await PodNet.create(pods);
    let reader: DnsReader | null = null;
    let dir: string | null = null;
    try {
      dir = await labDir();
      reader = DnsReader.open(BPF_OBJ_DIR, { ...DEFAULT_DNS, ...settings }, net.node);
      const present = listInterfaces(net.node);
      for (const p of net.pods) reader.attach(present.find((i) => i.ifindex === p.ifindex)!);
      return new DnsLab(net, reader, dir, true);
    } catch (e) {
      reader?.close();
      if (dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
      await net.close();
      throw e;
    }
  }

  /** Resolvers and clients in the pods of `net` (an agent rig's), without a program: the agent runs it. */
  static async over(net: PodNet): Promise<DnsLab> {
    return new DnsLab(net, null, await labDir(), false);
  }

  ip(pod: string): string {
    return this.net.pod(pod).ip;
  }

  /** dnsmasq in pod `pod`, answering on its address and `port` from the hosts given; no upstream. */
  async resolver(pod: string, o: ResolverOptions = {}): Promise<void> {
    const port = o.port ?? 53;
    const hosts = `${this.dir}/hosts-${pod}-${port}`;
    await Deno.writeTextFile(hosts, hostsText(o.hosts ?? {}));
    const logFile = `${this.dir}/dnsmasq-${pod}-${port}.log`;
    await this.#spawn(
      pod,
      dnsmasqArgv({ ip: this.ip(pod), port, hostsFile: hosts, logFile, extra: o.extra }),
      port,
      true,
    );
  }

  /** The python responder (rcode by first label) in pod `pod`. */
  async responder(pod: string, port = 53): Promise<void> {
    await this.#spawn(pod, responderArgv(this.ip(pod), port), port);
  }

  /** A UDP socket in pod `pod` that never answers. */
  async silent(pod: string, port = 53): Promise<void> {
    await this.#spawn(pod, silentArgv(this.ip(pod), port), port);
  }

  /**
   * dig in pod `pod`, one process for all `queries` (batch mode, one at a time):
   * each "name type" with +tries=1 (no retry: one query each) and `options`.
   */
  async dig(pod: string, server: string, queries: string[], options: string[] = []): Promise<DigResult[]> {
    const batch = `${this.dir}/dig-${crypto.randomUUID()}`;
    await Deno.writeTextFile(batch, digBatch(server, queries));
    const res = await run(this.net.in(pod, digArgv(batch, options)), { allowFail: true });
    if (!DIG_OK_EXITS.includes(res.code)) throw new Error(`dig failed (exit ${res.code}): ${res.stderr}${res.stdout}`);
    return parseDig(res.stdout, queries.length); // exit 9: some query had no answer, which the results say
  }

  /**
   * `count` look-ups of `name` through glibc (python's getaddrinfo, AF_UNSPEC)
   * in pod `pod`, its resolv.conf naming only `server` (/etc/netns/<netns>/,
   * which `ip netns exec` mounts over /etc/resolv.conf; removed at close()).
   * Returns the IPv4 address each look-up found.
   */
  async lookup(pod: string, server: string, name: string, count: number): Promise<string[]> {
    const etc = `/etc/netns/${this.net.pod(pod).netns}`;
    if (!pathExists("/etc/netns")) this.#etc.add("/etc/netns"); // removed at close() if empty by then
    this.#etc.add(etc);
    await Deno.mkdir(etc, { recursive: true });
    await Deno.writeTextFile(`${etc}/resolv.conf`, resolvConf(server));
    const py = `import socket, sys\nfor _ in range(${count}):\n` +
      ` a = socket.getaddrinfo(sys.argv[1], 80, socket.AF_UNSPEC, socket.SOCK_DGRAM)\n` +
      ` print([x[4][0] for x in a if x[0] == socket.AF_INET][0])\n`;
    return (await output(this.net.in(pod, ["python3", "-c", py, name]))).trim().split("\n");
  }

  /** The python sender: `count` messages of `kind` (SENDER) from pod `pod` to server ip:port. */
  async send(pod: string, server: string, port: number, kind: string, count: number): Promise<void> {
    await output(this.net.in(pod, ["python3", "-c", SENDER, server, String(port), kind, String(count)]));
  }

  /** Ends the processes, unloads the program, deletes the namespaces and files. Harmless twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const errors: unknown[] = [];
    await killAll(this.#procs);
    for (
      const step of [
        () => this.ownReader?.close(),
        () => this.ownsNet ? this.net.close() : undefined,
        () => Deno.remove(this.dir, { recursive: true }),
        ...[...this.#etc].reverse().map((d) => () =>
          Deno.remove(d, { recursive: d !== "/etc/netns" }).catch((e) => {
            if (d !== "/etc/netns") throw e; // another test's namespace may still use it
          })
        ),
      ]
    ) {
      try {
        await step();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length) throw new AggregateError(errors, `dns lab cleanup failed: ${errors.map(String).join("; ")}`);
  }

  /** Starts `cmd` in the pod and waits until it listens on UDP `port` (and TCP too when `tcp`). */
  async #spawn(pod: string, cmd: string[], port: number, tcp = false): Promise<void> {
    const p = this.net.pod(pod);
    const child = new Deno.Command("ip", {
      args: ["netns", "exec", p.netns, ...cmd],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn(); // ip netns exec execs the command: the child's pid is the server's
    this.#procs.add(child);
    const end = Date.now() + 5000;
    const bound = async (proto: string) =>
      (await output(["ip", "netns", "exec", p.netns, "ss", `-${proto}lnH`, `sport = :${port}`])).includes(p.ip);
    while (!(await bound("u")) || (tcp && !(await bound("t")))) {
      if (Date.now() > end) throw new Error(`${cmd[0]} in ${pod} does not listen on port ${port} after 5 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

async function labDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: `ek8s-dns-${++labs}-` });
  await Deno.chmod(dir, 0o755); // dnsmasq reads its hosts file as the unprivileged user it becomes
  return dir;
}

/** Runs `fn` with a lab, closed afterwards whatever happens. */
export async function withDnsLab(
  pods: number,
  settings: Partial<DnsSettings>,
  fn: (lab: DnsLab) => Promise<void>,
): Promise<void> {
  const lab = await DnsLab.create(pods, settings);
  try {
    await fn(lab);
  } finally {
    await lab.close();
  }
}

// SPDX-License-Identifier: Apache-2.0
/**
 * The dns module: bpf/dns.bpf.c (reader.ts) on the host veth of every pod of
 * the node, and each interval its records in the batch (Batch.dns, wire
 * version 6, control/wire/dns.ts): per pod and server the queries by type,
 * answers by rcode, truncated answers, timeouts and latency; per pod the
 * names asked for; both capped with the excess summed (exact totals).
 *
 * Which veths: as the flows module, the pods file's host veths, or in
 * Kubernetes every veth of the node's namespace; brought up to date when the
 * pod list changes and at every read. A veth is its pod's through the pod
 * directory (byVeth, or the pods file's veth name).
 *
 * No pins and no adoption: everything it reports is a delta over the
 * interval (the statistics in MonitoringStats start again with the module),
 * so a successor has nothing to continue. On SIGTERM it lets go of its
 * filters without removing them (release()), as after a crash: removing
 * them could take the veth's clsact qdisc along, and with it the filters
 * that flows and ifstats leave for their successor (the qdisc goes with the
 * last filter this process knows of, and theirs are let go first). The next
 * start removes the filters the predecessor recorded (record(): the hooked
 * veths), then hooks its own. What it had counted and not reported is lost
 * with its maps, as for a switch off.
 */
import type { MapInfo, ProgramInfo } from "../../../control/wire/batch.ts";
import {
  DNS_MALFORMED_REASONS,
  DNS_OTHER_NAME,
  type DnsNameRecord as WireNameRecord,
  type DnsRecords,
  type DnsServerRecord as WireServerRecord,
} from "../../../control/wire/dns.ts";
import { z } from "zod";
import { netnsExists } from "../../libbpf/mod.ts";
import { listInterfaces, type NetIf } from "../../netif.ts";
import { describeMaps, describePrograms, idleProgramSites } from "../common/inventory.ts";
import { PodVeths } from "../common/pod_veths.ts";
import { HookRecord, removeLeftoverHooks } from "../common/tc_hooks.ts";
import type { Module, ModuleEnv, Reading, StartOptions } from "../module.ts";
import { DNS_STATS } from "./layout.ts";
import { DNS_SLOT, DnsReader } from "./reader.ts";
import { serverRecords } from "./records.ts";
import { checkDnsModuleSettings, DEFAULT_DNS_MODULE, type DnsModuleSettings } from "./settings.ts";

const PROGRAMS = ["dns_ingress", "dns_egress"];

/** What a successor needs to clean up after us: the veths hooked. */
const DnsRecord = z.object({ interfaces: z.array(HookRecord) });
type DnsRecord = z.infer<typeof DnsRecord>;

export class DnsModule implements Module {
  readonly name = "dns" as const;
  readonly counting = false;
  #reader: DnsReader | null = null;
  /** Keys the caps summed into "other" records since the module started. */
  #serversSummed = 0;
  #namesSummed = 0;
  /** Interfaces a failed attach was logged for (said once, not at every read). */
  readonly #failed = new Set<string>();
  readonly #veths: PodVeths;

  constructor(private readonly env: ModuleEnv, private readonly settings: DnsModuleSettings = DEFAULT_DNS_MODULE) {
    this.#veths = new PodVeths(env);
    checkDnsModuleSettings(settings);
  }

  hasPins(): boolean {
    return false;
  }

  start({ previous }: StartOptions): void {
    if (this.#reader) return;
    this.clean(previous);
    const reader = DnsReader.open(this.env.bpfDir, this.settings, this.env.netns);
    this.#serversSummed = this.#namesSummed = 0;
    this.#reader = reader;
    try {
      this.#reconcile(reader);
    } catch (e) {
      this.#reader = null;
      reader.close();
      throw e;
    }
  }

  stop(): void {
    const reader = this.#reader;
    if (!reader) return;
    this.#reader = null;
    const present = netnsExists(this.env.netns) ? listInterfaces(this.env.netns) : [];
    for (const i of reader.tc.interfaces) reader.tc.detach(i.ifindex, present); // a vanished veth's: forgotten
    reader.obj.close();
  }

  /** The hand-over (SIGTERM): the filters stay (counting into maps nobody reads) until the next agent's start. */
  release(): void {
    const reader = this.#reader;
    this.#reader = null;
    reader?.obj.close({ keepAttachments: true });
  }

  clean(previous?: unknown): void {
    const r = DnsRecord.safeParse(previous);
    for (const p of r.success ? r.data.interfaces : []) removeLeftoverHooks(DNS_SLOT, this.env.netns, p);
  }

  record(): DnsRecord {
    return { interfaces: this.#reader?.tc.records() ?? [] };
  }

  /** Records the agent summed into the node's "other" record to fit a batch: keys summed, as the caps' are. */
  recordsCut(n: number, list?: string): void {
    if (list === "servers") this.#serversSummed += n;
    else if (list === "names") this.#namesSummed += n;
  }

  podsChanged(): void {
    if (this.#reader) this.#reconcile(this.#reader);
  }

  read(): Reading {
    const reader = this.#reader;
    if (!reader) return {};
    this.#reconcile(reader);
    const r = reader.read();
    const servers = serverRecords(r.servers, this.settings.maxServerRecords);
    this.#serversSummed += servers.keysSummed;
    this.#namesSummed += r.namesSummed;
    const pod = this.#podOf(reader);
    const dns: DnsRecords = {
      servers: servers.records.map(({ ifindex, ...rest }): WireServerRecord => ({ ...pod(ifindex), ...rest })),
      names: r.names.map(({ ifindex, name, ...rest }): WireNameRecord => ({
        ...pod(ifindex),
        name: name ?? DNS_OTHER_NAME,
        ...rest,
      })),
    };
    const c = r.counters;
    return {
      dns,
      monitoring: {
        dnsServerEntries: c.serverEntries,
        dnsServerTableSize: this.settings.serversTableSize,
        dnsServersEvicted: c.serversEvicted,
        dnsPendingEntries: c.pendingEntries,
        dnsPendingEvicted: c.pendingEvicted,
        dnsNameEntries: c.nameEntries,
        dnsNamesFull: c.namesFull,
        dnsServersFailed: c.serversFailed,
        dnsNamesOtherFailed: c.otherFailed,
        dnsNamesSummed: this.#namesSummed,
        dnsServersSummed: this.#serversSummed,
        dnsMalformed: Object.fromEntries(DNS_MALFORMED_REASONS.map((k) => [k, c[k]])) as Record<
          typeof DNS_MALFORMED_REASONS[number],
          number
        >,
      },
    };
  }

  programs(bpfStats: boolean): ProgramInfo[] {
    const reader = this.#reader;
    if (!reader) return [];
    return describePrograms(this.name, idleProgramSites(reader.obj, PROGRAMS, reader.tc.programSites()), bpfStats);
  }

  maps(): MapInfo[] {
    const reader = this.#reader;
    if (!reader) return [];
    const obj = reader.obj;
    return describeMaps(this.name, obj, {
      dns_servers: obj.map("dns_servers").countKeys(),
      dns_pending: obj.map("dns_pending").countKeys(),
      dns_names: obj.map("dns_names").countKeys(),
      dns_names_other: obj.map("dns_names_other").countKeys(),
      dns_config: 1,
      dns_stats: DNS_STATS.length,
    });
  }

  /** ifindex -> `{ pod: uid }` of the pod whose host veth it is (`{}`: none known, or the node's "other", 0). */
  #podOf(reader: DnsReader): (ifindex: number) => { pod?: string } {
    const pods = this.env.pods;
    const byName = new Map(pods.list().filter((p) => p.hostVeth).map((p) => [p.hostVeth!, p.uid]));
    const hooked = new Map(reader.tc.interfaces.map((i) => [i.ifindex, i.name]));
    return (ifindex) => {
      if (ifindex === 0) return {};
      const uid = pods.byVeth(ifindex) ?? byName.get(hooked.get(ifindex) ?? "");
      return uid ? { pod: uid } : {};
    };
  }

  /** Hooks the pods' veths there are now and lets go of the others (vanished veths, pods gone). */
  #reconcile(reader: DnsReader): void {
    const present = listInterfaces(this.env.netns);
    const allowed = present.filter((i) => i.name !== "lo" && !this.env.excludeInterfaces.includes(i.name));
    const wanted = this.#veths.of(present, allowed, (i) => this.settings.hostInterfaces.includes(i.name));
    const same = (a: NetIf, b: NetIf) => a.ifindex === b.ifindex && a.name === b.name;
    // forget the failures of interfaces no longer wanted (gone, or no pod's any more): the set stays bounded
    for (const id of this.#failed) if (!wanted.some((w) => `${w.name}/${w.ifindex}` === id)) this.#failed.delete(id);
    for (const h of reader.tc.interfaces) {
      if (!wanted.some((w) => same(w, h))) reader.tc.detach(h.ifindex, present);
    }
    for (const w of wanted) {
      if (reader.tc.has(w.ifindex)) continue;
      const id = `${w.name}/${w.ifindex}`;
      try {
        reader.attach(w);
        this.#failed.delete(id);
      } catch (e) {
        // one bad interface (e.g. someone else's filter in our slot) must not keep the others unwatched
        if (!this.#failed.has(id)) this.env.log(`dns: cannot attach to ${w.name}: ${(e as Error).message}`);
        this.#failed.add(id);
      }
    }
  }
}

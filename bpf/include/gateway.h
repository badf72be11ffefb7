/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * North-south gateway in XDP (bpf/gateway.bpf.c): the layout shared with the
 * agent (agent/modules/gateway/layout.ts mirrors it; a test checks the mirror
 * against the object's BTF). Frontends, backends and Maglev tables use the
 * structs of lb.h (struct lb_svc_key, lb_svc, lb_backend, lb_maglev_chunk) in
 * the gateway's own maps; a NodePort frontend has vip 0.
 *
 * Addresses and ports in network byte order.
 */
#ifndef EBPF_K8S_GATEWAY_H
#define EBPF_K8S_GATEWAY_H

enum ek8s_gw_limits {
	GW_ADDR_SLOTS = 16384, /* gw_addrs: open-addressed table of the addresses the gateway answers on */
	GW_MAX_DESTS = 4096, /* of those addresses (external IPs, node IPs, the SNAT IP): a quarter of the slots at most */
	GW_ADDR_PROBES = 8, /* slots a lookup reads at most (the agent places every address within them) */
	GW_FLOW_CACHE_SLOTS = 1024, /* gw_flow_cache: per-CPU direct-mapped copies of recently used flows */
	GW_PCPU_STATS_IDS = 4096, /* services with a lower id are counted per CPU (gw_svc_stats_pcpu) */
	GW_CT_DEFAULT_ENTRIES = 65536,
	GW_SNAT_TRIES = 8, /* hashed SNAT ports tried for a new flow before the scan of the whole range (see new_flow()) */
	GW_SNAT_FULL_ENTRIES = 4096, /* gw_snat_full (LRU): backends whose SNAT range a scan found exhausted */
	GW_EXPIRE_CPUS = 1024, /* CPUs whose gw_flow_cache copy of an expired flow gw_expire clears (more: stale within GW_HOP_JIFFIES) */
	GW_HOP_JIFFIES = 256, /* a flow's cached next hop is looked up again after this many jiffies (0.25-1 s) */
	GW_FE_STATS_ENTRIES = 8192, /* frontends counted one by one (gw_fe_stats); more are counted in gw_counters only */
};

/*
 * A flow's next hop, cached from bpf_fib_lookup so that its packets skip the
 * lookup: written in place by the CPU that refreshes it (a flow stays on one
 * CPU with RSS; another may at worst send one packet to the previous hop).
 */
struct gw_hop {
	__u32 ifindex; /* 0: none yet */
	__u32 at; /* jiffies (low 32 bits) of the lookup */
	__u8 dmac[6];
	__u8 smac[6];
};

/* gw_addrs flags: what an address is to the gateway. */
enum ek8s_gw_dest_flags {
	GW_DEST_VIP = 1, /* an external IP: frontends (ip, port, proto) */
	GW_DEST_NODE = 2, /* a node address: NodePort frontends (0, port, proto) */
	GW_DEST_SNAT = 4, /* the SNAT address: replies of backends */
};

/*
 * gw_addrs, an array of GW_ADDR_SLOTS (read in place, no helper call): an
 * address lives in the first free slot from (addr as loaded * 0x9e3779b1) >>
 * 18, probing linearly, within GW_ADDR_PROBES slots. addr 0 is an empty slot
 * (a lookup stops there); flags 0 with an address is a removed one (a lookup
 * goes on past it), so no address ever moves while the set changes. The
 * agent places them (agent/modules/gateway/layout.ts).
 */
struct gw_addr {
	__be32 addr;
	__u32 flags; /* GW_DEST_* */
};

/*
 * gw_config, one element. Flow lifetimes: packets stamp their flow with
 * clock_ms (a load, no helper call); gw_expire, run by the agent every
 * sweep interval (BPF_PROG_TEST_RUN), advances clock_ms by the time since
 * its last run (bpf_ktime_get_coarse_ns(), at most clock_step_max_ms) and
 * ends the flows idle longer than their timeout (milliseconds; see gw_expire
 * in gateway.bpf.c).
 */
struct gw_config {
	__be32 snat_ip; /* source of translated packets towards backends */
	__u16 snat_port_min; /* host byte order, inclusive */
	__u16 snat_port_max;
	__u32 clock_ms; /* written by gw_expire only: the flows' clock (ms of sweeping, wraps after 49 days; compared as differences) */
	__u32 timeout_syn_ms; /* TCP, no reply from the backend yet */
	__u32 timeout_established_ms; /* TCP, replied, not closing */
	__u32 timeout_closing_ms; /* TCP after a FIN each way, or an RST either way */
	__u32 timeout_udp_ms;
	__u32 swept_ms; /* written by gw_expire only: bpf_ktime_get_coarse_ns() in ms at its last run (0: never) */
	/*
	 * The most one gw_expire run advances clock_ms by (a few sweep intervals):
	 * a longer gap is a pause (no agent ran; packets stamped the stuck clock
	 * meanwhile), not time the flows were idle.
	 */
	__u32 clock_step_max_ms;
};

/* gw_ct.flags, gw_rev.flags: what a flow's packets showed in that direction (FIN and RST are the TCP header's bits). */
enum ek8s_gw_flow_flags {
	GW_FLOW_FIN = 1,
	GW_FLOW_SYN = 2, /* never stored: a packet's SYN without ACK (a new connection on the tuple; see restart()) */
	GW_FLOW_RST = 4,
	GW_FLOW_REPLIED = 64, /* gw_rev: a packet came back from the backend */
};

/* gw_ct: a flow from outside, by what the client sent. */
struct gw_ct_key {
	__be32 client_ip;
	__be32 dst_ip; /* the address the client used: an external IP, or a node address for a NodePort */
	__be16 client_port;
	__be16 dst_port;
	__u8 proto;
	__u8 pad[3];
};

struct gw_ct {
	__be32 backend_ip;
	__be16 backend_port;
	__be16 snat_port;
	__u32 service_id;
	__u32 backend_id;
	struct gw_hop hop; /* towards the backend */
	__u32 seen; /* gw_config.clock_ms at its last packet (written when it changed: once a sweep interval at most) */
	__u8 flags; /* GW_FLOW_FIN, GW_FLOW_RST sent by the client */
	__u8 pad[3];
};

/* gw_rev: a translated flow, by what the backend sends back. */
struct gw_rev_key {
	__be32 backend_ip;
	__be16 backend_port;
	__be16 snat_port;
	__u8 proto;
	__u8 pad[3];
};

struct gw_rev {
	__be32 client_ip;
	__be32 dst_ip; /* the address the client used: the reply's source */
	__be16 client_port;
	__be16 dst_port;
	__u32 service_id;
	struct gw_hop hop; /* towards the client */
	__u32 seen; /* gw_config.clock_ms at its last reply */
	__u8 flags; /* GW_FLOW_FIN, GW_FLOW_RST sent by the backend; GW_FLOW_REPLIED */
	__u8 pad[3];
};

/*
 * gw_flow_cache, per-CPU, slot = flow hash: a copy of a gw_ct entry (hop
 * included) taken from the table at `at` (jiffies). A packet whose flow is
 * in its CPU's slot and was copied less than GW_HOP_JIFFIES ago skips the
 * table; an older copy is looked up again (which also keeps the flow
 * recently used in the LRU, stamps its seen time, and ends a flow the agent
 * removed within a second; the agent also clears the cache when it removes
 * flows, and gw_expire clears an expired flow's copy on every CPU). A TCP
 * FIN or RST (or a SYN without ACK) always goes to the table, to be
 * recorded there.
 */
struct gw_flow_slot {
	struct gw_ct_key key;
	struct gw_ct ct;
	__u32 at;
};

/*
 * Per service, index = service id: both directions, bytes of whole frames.
 * Ids below GW_PCPU_STATS_IDS (ids are the smallest free, so nearly every
 * cluster's) in gw_svc_stats_pcpu, per CPU, plain adds: no cache line shared
 * by the CPUs a busy service's flows spread over. Higher ids in gw_svc_stats,
 * atomic adds (a per-CPU array for every possible id would take 2 MiB per CPU).
 * The agent sums both.
 */
struct gw_svc_stats {
	__u64 packets_in;
	__u64 bytes_in;
	__u64 packets_out;
	__u64 bytes_out;
};

/*
 * gw_fe_stats, a per-CPU hash by frontend (struct lb_svc_key as in
 * gw_services: external IP and port, or 0 and the NodePort): the flow events
 * of one frontend. The agent creates an entry per programmed frontend and
 * removes it with the frontend; the program only looks entries up, when an
 * event happens (never for a tracked flow's ordinary packet), and plain adds
 * to its CPU's copy. A frontend's service is the agent's to know; so are its
 * evictions (flows - expired - entries of gw_ct present for it).
 */
struct gw_fe_stats {
	__u64 flows; /* gw_ct entries created */
	__u64 no_backend; /* first packets dropped: no usable backend */
	__u64 snat_busy; /* first packets dropped: SNAT range exhausted for the backend (as gw_counters.snat_busy) */
	__u64 to_stack; /* translated packets of its flows passed to the stack (both directions, ICMP errors too) */
	__u64 expired; /* its flows ended by gw_expire (timeout): not evictions */
};

/*
 * XDP -> tc on the same device, in the packet's metadata (data_meta): a
 * translated packet whose next hop has no neighbour entry yet (XDP cannot
 * have the kernel resolve it). Only gw_xdp writes it, only gw_tc_neigh reads
 * it (and sends the packet by bpf_redirect_neigh); the magic guards against
 * metadata of anything else.
 */
enum ek8s_gw_neigh {
	GW_NEIGH_MAGIC = 0x65b8e1a5,
};

struct gw_neigh_meta {
	__u32 magic; /* GW_NEIGH_MAGIC */
	__u32 ifindex; /* the device bpf_fib_lookup chose */
	__be32 nexthop; /* the address to resolve: the route's gateway, or the destination on link */
};

/* gw_counters, one per-CPU element: events of the whole program. */
struct gw_counters {
	__u64 flows; /* gw_ct entries created: flows - entries present = evicted */
	__u64 tracked; /* packets of flows found in gw_ct */
	__u64 replies; /* packets translated back */
	__u64 icmp; /* ICMP errors of tracked flows translated */
	__u64 no_backend; /* VIP hits with no usable backend: dropped */
	__u64 snat_busy; /* first packets dropped: no free SNAT port in the whole range for that backend (exhausted) */
	__u64 fragments; /* fragments for a gateway address: passed untouched */
	__u64 malformed; /* truncated or bad headers for a gateway address: passed untouched */
	__u64 to_stack; /* translated but no route known (XDP: or metadata refused): passed to the stack */
	__u64 ttl; /* TTL <= 1: passed untouched (the stack answers) */
	__u64 neigh_redirects; /* translated, no neighbour known: sent by bpf_redirect_neigh (tc, also for XDP's neigh_to_tc) */
	__u64 neigh_to_tc; /* XDP: translated, no neighbour known: passed to gw_tc_neigh (metadata) */
	__u64 expired; /* flows ended by gw_expire (timeout, or the other table's entry gone): both entries and the SNAT port freed */
	__u64 snat_scans; /* new flows whose GW_SNAT_TRIES hashed ports were taken: the range scanned (a sign of a filling range) */
};

#endif

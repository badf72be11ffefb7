/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
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
	GW_SNAT_TRIES = 8, /* SNAT ports probed for a new flow before it is passed to the stack */
	GW_HOP_JIFFIES = 256, /* a flow's cached next hop is looked up again after this many jiffies (0.25-1 s) */
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

/* gw_config, one element. */
struct gw_config {
	__be32 snat_ip; /* source of translated packets towards backends */
	__u16 snat_port_min; /* host byte order, inclusive */
	__u16 snat_port_max;
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
};

/*
 * gw_flow_cache, per-CPU, slot = flow hash: a copy of a gw_ct entry (hop
 * included) taken from the table at `at` (jiffies). A packet whose flow is
 * in its CPU's slot and was copied less than GW_HOP_JIFFIES ago skips the
 * table; an older copy is looked up again (which also keeps the flow
 * recently used in the LRU, and ends a flow the agent removed within a
 * second; the agent also clears the cache when it removes flows).
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

/* gw_counters, one per-CPU element: events of the whole program. */
struct gw_counters {
	__u64 flows; /* gw_ct entries created: flows - entries present = evicted */
	__u64 tracked; /* packets of flows found in gw_ct */
	__u64 replies; /* packets translated back */
	__u64 icmp; /* ICMP errors of tracked flows translated */
	__u64 no_backend; /* VIP hits with no usable backend: dropped */
	__u64 snat_busy; /* no free SNAT port among GW_SNAT_TRIES: passed */
	__u64 fragments; /* fragments for a gateway address: passed untouched */
	__u64 malformed; /* truncated or bad headers for a gateway address: passed untouched */
	__u64 to_stack; /* translated but no route/neighbour known: passed to the stack */
	__u64 ttl; /* TTL <= 1: passed untouched (the stack answers) */
};

#endif

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
	GW_FILTER_WORDS = 1024, /* destination pre-filter: 65536 bits */
	GW_MAX_DESTS = 4096, /* addresses the gateway answers on: external IPs, node IPs, the SNAT IP */
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

/* gw_dests value: what an address is to the gateway. */
enum ek8s_gw_dest_flags {
	GW_DEST_VIP = 1, /* an external IP: frontends (ip, port, proto) */
	GW_DEST_NODE = 2, /* a node address: NodePort frontends (0, port, proto) */
	GW_DEST_SNAT = 4, /* the SNAT address: replies of backends */
};

/* gw_filter: bit (hash(daddr) >> 16) set for every gw_dests key. One array element, read in place. */
struct gw_filter {
	__u64 bits[GW_FILTER_WORDS];
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

/* gw_svc_stats, index = service id: both directions, bytes of whole frames. Atomic adds. */
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

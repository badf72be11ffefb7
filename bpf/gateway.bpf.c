/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * North-south gateway in XDP (gw_xdp), or in tc (gw_tc, on clsact ingress)
 * where XDP cannot run or should not: one program over one set of maps, the
 * hook's differences confined to struct pkt, translate() and the entry
 * points. A packet entering a configured interface for an
 * external IP:port or a node address:NodePort (TCP, UDP) goes to a backend
 * chosen by the service's Maglev table (the same tables as the socket load
 * balancer, computed by the agent, in the gateway's own maps), translated in
 * both directions (SNAT mode):
 *
 *   client c:cp -> d:dp      becomes   snat s:sp -> backend b:bp
 *   backend b:bp -> s:sp     becomes   d:dp -> client c:cp
 *
 * so the outside only ever sees the address it used. Flows are tracked in two
 * LRU maps of explicit size (gw_ct by what the client sends, gw_rev by what
 * the backend sends back) and end by per-protocol timeouts (gw_expire); a
 * new flow takes a free SNAT port of the configured range (GW_SNAT_TRIES by
 * its hash, then a scan of the range: see new_flow()), or is dropped when the
 * range has none for its backend. ICMP errors (destination
 * unreachable, time exceeded, parameter problem) about a tracked flow are
 * translated the same way, inner header included. Checksums are updated
 * incrementally (RFC 1624); a UDP checksum of 0 stays 0. In tc the L4
 * checksum goes through bpf_l4_csum_replace, which also keeps the partial
 * checksums of locally sent (offloaded, GSO) packets and the complete
 * checksums of received ones right; the IP header and ICMP messages hold no
 * pseudo-header, so direct writes with their own checksums are right there
 * too.
 *
 * After translation the packet is sent on by bpf_fib_lookup + bpf_redirect;
 * when the kernel knows no route yet it is passed to the stack (counted as
 * to_stack). When it knows the route but not the next hop's neighbour entry
 * (bpf_fib_lookup: NO_NEIGH) the packet goes by bpf_redirect_neigh, which
 * makes the kernel resolve it (ARP) and queue the packet meanwhile: in tc
 * directly; XDP has no such helper, so gw_xdp passes the translated packet
 * with the next hop in its metadata to gw_tc_neigh, on tc ingress of the
 * same device, which sends it so (see send_on()).
 *
 * Anything else passes untouched: a packet whose destination is not a
 * gateway address costs a header check and a probe of gw_addrs (an array
 * read in place, no helper call). For gateway addresses, as documented in README: IP options are skipped (the L4 header
 * is found by IHL); fragments are passed untouched (ports unknown; counted);
 * truncated or malformed headers are passed untouched (counted); TTL <= 1 is
 * passed untouched (the stack sends time exceeded); a VIP hit without a
 * usable backend is dropped (counted).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "lb.h"
#include "lb_tables.bpf.h"
#include "gateway.h"

#define ETH_P_IP 0x0800
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
#define AF_INET 2
#define ICMP_DEST_UNREACH 3
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12
#define TC_ACT_UNSPEC (-1)
#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7
#define TCP_FLAG_ACK 0x10
/* tc: headers up to here are pulled into the linear data (Ethernet, IP with options, ICMP with the inner IP and ports) */
#define GW_TC_PULL 128

/* The verifier takes ctx fields only at constant offsets from ctx itself: no address clang kept from before */
#define ctx_barrier(x) asm volatile("" : "+r"(x))

/* What the core decides; each hook's entry maps it to its own return codes. */
enum gw_verdict {
	GW_PASS, /* to the stack, untouched (or translated but no next hop known) */
	GW_DROP,
	GW_REDIRECT, /* bpf_redirect() was called */
	GW_NOT_OURS, /* forward(): no flow or frontend (the packet may still be a reply) */
	GW_NEIGH, /* XDP: translated, no neighbour known; passed with a struct gw_neigh_meta for gw_tc_neigh */
};

/* The packet being handled, in either hook. */
struct pkt {
	void *ctx; /* struct xdp_md or struct __sk_buff */
	struct ethhdr *eth;
	struct iphdr *ip;
	void *end; /* end of the directly readable data */
	__u32 len; /* the whole packet from its Ethernet header (tc: more than the linear data for GSO) */
	bool tc; /* a constant at each entry: the hook's branches are compiled out of the other */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GW_ADDR_SLOTS);
	__type(key, __u32);
	__type(value, struct gw_addr);
} gw_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gw_config);
} gw_config SEC(".maps");

/* gw_services (frontends: external IP, port, proto, and 0, NodePort, proto), gw_backends, gw_maglev. */
LB_TABLE_MAPS(gw);

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, GW_CT_DEFAULT_ENTRIES);
	__type(key, struct gw_ct_key);
	__type(value, struct gw_ct);
} gw_ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, GW_CT_DEFAULT_ENTRIES);
	__type(key, struct gw_rev_key);
	__type(value, struct gw_rev);
} gw_rev SEC(".maps");

/* Backends (gw_rev_key with snat_port 0) whose SNAT range a scan found full, at gw_config.clock_ms (see new_flow()). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, GW_SNAT_FULL_ENTRIES);
	__type(key, struct gw_rev_key);
	__type(value, __u32);
} gw_snat_full SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GW_FLOW_CACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct gw_flow_slot);
} gw_flow_cache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GW_PCPU_STATS_IDS);
	__type(key, __u32);
	__type(value, struct gw_svc_stats);
} gw_svc_stats_pcpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LB_MAX_SERVICES + 1);
	__type(key, __u32);
	__type(value, struct gw_svc_stats);
} gw_svc_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gw_counters);
} gw_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, GW_FE_STATS_ENTRIES);
	__type(key, struct lb_svc_key);
	__type(value, struct gw_fe_stats);
} gw_fe_stats SEC(".maps");

const volatile enum ek8s_gw_limits gw_limits_btf;
const volatile enum ek8s_gw_dest_flags gw_flags_btf;
const volatile enum ek8s_gw_neigh gw_neigh_btf;
const volatile struct gw_neigh_meta gw_neigh_meta_btf; /* in the BTF for the layout test: only pointers to it in the code */
const volatile enum ek8s_gw_flow_flags gw_flow_flags_btf;

/*
 * Flow lifetimes (see gw_expire): every packet's bookkeeping is a TCP flags
 * test and, on the table path, a store of the clock and of FIN/RST when they
 * changed. GW_NO_EXPIRY (scripts/build-bpf.sh builds gateway_noexpiry.bpf.o with it, for the bench only)
 * compiles it out, to measure what it costs.
 */
#ifdef GW_NO_EXPIRY
#define GW_EXPIRY 0
#else
#define GW_EXPIRY 1
#endif

#define COUNT(field)                                                         \
	do {                                                                 \
		__u32 _k = 0;                                                \
		struct gw_counters *_c = bpf_map_lookup_elem(&gw_counters, &_k); \
		if (_c)                                                      \
			_c->field++;                                         \
	} while (0)

/* ---- checksums (RFC 1624), over the raw 16-bit words as they are in the packet ---- */

static __always_inline __u16 csum_fold32(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

struct l4 {
	__u16 *sport; /* sport, dport adjacent */
	__u16 *check;
	__u32 check_off; /* of the checksum from the Ethernet header (for tc's helpers) */
	bool udp;
};

/* What replacing `from` by `to` adds to a checksum's one's-complement sum (summed deltas fold once, in csum_apply). */
static __always_inline __u32 csum_diff4(__u32 from, __u32 to)
{
	return (__u16)~from + (__u16)~(from >> 16) + (__u16)to + (__u16)(to >> 16);
}

static __always_inline __u32 csum_diff2(__u16 from, __u16 to)
{
	return (__u16)~from + to;
}

/* A checksum after the changes whose deltas sum to d (up to a few dozen of them). */
static __always_inline void csum_apply(__u16 *check, __u32 d)
{
	*check = ~csum_fold32((__u16)~*check + d);
}

static __always_inline void csum_replace2(__u16 *check, __u16 from, __u16 to)
{
	csum_apply(check, csum_diff2(from, to));
}

/* An L4 checksum (TCP, or UDP unless 0: none sent) after changes whose deltas sum to d. */
static __always_inline void l4_csum(__u16 *check, bool udp, __u32 d)
{
	if (udp && !*check)
		return;
	csum_apply(check, d);
	if (udp && !*check)
		*check = 0xffff;
}

static __always_inline bool l4_of(struct pkt *p, __u8 proto, struct l4 *out);

/*
 * tc: the L4 checksum after address changes whose deltas sum to d_addr (in
 * the pseudo-header) and port changes summing to d_ports, by the kernel's
 * helpers; then the packet pointers again (the helpers invalidate them).
 */
static __always_inline bool tc_l4_csum(struct pkt *p, struct l4 *l, __u32 d_addr, __u32 d_ports)
{
	struct __sk_buff *skb = p->ctx;
	__u64 udp = l->udp ? BPF_F_MARK_MANGLED_0 : 0; /* a UDP checksum of 0 stays 0; a result of 0 is sent as 0xffff */

	if (bpf_l4_csum_replace(skb, l->check_off, 0, d_addr, BPF_F_PSEUDO_HDR | udp) ||
	    bpf_l4_csum_replace(skb, l->check_off, 0, d_ports, udp))
		return false;
	ctx_barrier(skb);
	p->eth = (void *)(long)skb->data;
	p->end = (void *)(long)skb->data_end;
	p->ip = (void *)(p->eth + 1);
	if ((void *)(p->ip + 1) > p->end)
		return false;
	return l4_of(p, p->ip->protocol, l);
}

/*
 * Rewrites a TCP/UDP packet's addresses and ports (the IP and L4 checksums
 * with them): the translation of both directions. False: the packet could
 * not be read again after tc's checksum helpers (passed as it is then).
 */
static __always_inline bool translate(struct pkt *p, struct l4 *l, __be32 saddr, __be32 daddr, __u16 sport, __u16 dport)
{
	__u32 d = csum_diff4(p->ip->saddr, saddr) + csum_diff4(p->ip->daddr, daddr);
	__u32 dp = csum_diff2(l->sport[0], sport) + csum_diff2(l->sport[1], dport);
	struct iphdr *ip;

	if (p->tc) {
		if (!tc_l4_csum(p, l, d, dp))
			return false;
	} else {
		l4_csum(l->check, l->udp, d + dp);
	}
	ip = p->ip;
	csum_apply((__u16 *)&ip->check, d);
	ip->saddr = saddr;
	ip->daddr = daddr;
	l->sport[0] = sport;
	l->sport[1] = dport;
	return true;
}

/* ---- lookups ---- */

/* GW_DEST_* of an address, 0 when it is none of the gateway's: the probes of gw_addrs (see gateway.h). */
static __always_inline __u32 dest_flags(__be32 daddr)
{
	__u32 h = ((__u32)daddr * 0x9e3779b1u) >> 18;

	for (__u32 i = 0; i < GW_ADDR_PROBES; i++) {
		__u32 slot = (h + i) & (GW_ADDR_SLOTS - 1);
		struct gw_addr *a = bpf_map_lookup_elem(&gw_addrs, &slot);

		if (!a || !a->addr)
			return 0;
		if (a->addr == daddr)
			return a->flags;
	}
	return 0;
}

LB_TABLE_READERS(gw)

/* A flow's hash: its table slot (new flows), SNAT port probes and flow-cache slot. */
static __always_inline __u32 flow_hash(const struct gw_ct_key *k)
{
	return lb_hash64(((__u64)k->client_ip << 32 | k->dst_ip) ^ k->proto, (__u32)k->client_port << 16 | k->dst_port);
}

static __always_inline void count_svc(__u32 id, bool in, __u64 bytes)
{
	struct gw_svc_stats *st;

	if (id < GW_PCPU_STATS_IDS) {
		st = bpf_map_lookup_elem(&gw_svc_stats_pcpu, &id);
		if (!st)
			return;
		if (in) {
			st->packets_in++;
			st->bytes_in += bytes;
		} else {
			st->packets_out++;
			st->bytes_out += bytes;
		}
		return;
	}
	st = bpf_map_lookup_elem(&gw_svc_stats, &id);
	if (!st)
		return;
	if (in) {
		__sync_fetch_and_add(&st->packets_in, 1);
		__sync_fetch_and_add(&st->bytes_in, bytes);
	} else {
		__sync_fetch_and_add(&st->packets_out, 1);
		__sync_fetch_and_add(&st->bytes_out, bytes);
	}
}

/* A frontend's event counters (gw_fe_stats), looked up only when an event happens; NULL: not counted one by one. */
static __always_inline struct gw_fe_stats *fe_stats(__be32 vip, __be16 port, __u8 proto)
{
	struct lb_svc_key key = { .vip = vip, .port = port, .proto = proto };

	return bpf_map_lookup_elem(&gw_fe_stats, &key);
}

/*
 * send_on()'s verdict, a pass (to the stack) counted for the frontend the
 * client used (dst: the address and port it sent to): the external IP's
 * frontend, else the NodePort's, as first_packet() chose.
 */
static __always_inline enum gw_verdict fe_to_stack(enum gw_verdict v, __be32 dst, __be16 port, __u8 proto)
{
	struct gw_fe_stats *fe;

	if (v != GW_PASS)
		return v;
	fe = fe_stats(dst, port, proto);
	if (!fe)
		fe = fe_stats(0, port, proto);
	if (fe)
		fe->to_stack++;
	return v;
}

/* ---- sending on ---- */

/* TTL minus one (the gateway forwards); the caller checked TTL > 1. */
static __always_inline void ttl_dec(struct iphdr *ip)
{
	/* ttl and protocol make one 16-bit word of the header; TTL - 1 takes 0x0100 off it in network order */
	__u16 old = bpf_htons((__u16)ip->ttl << 8 | ip->protocol);

	ip->ttl--;
	csum_replace2(&ip->check, old, old - bpf_htons(0x0100));
}

static __always_inline enum gw_verdict redirect_to(struct pkt *p, __u32 ifindex, const __u8 *dmac, const __u8 *smac)
{
	__builtin_memcpy(p->eth->h_dest, dmac, 6);
	__builtin_memcpy(p->eth->h_source, smac, 6);
	ttl_dec(p->ip);
	bpf_redirect(ifindex, 0);
	return GW_REDIRECT;
}

/*
 * A translated packet whose next hop (ifindex, nexthop: what bpf_fib_lookup
 * answered with NO_NEIGH) has no neighbour entry: in tc, bpf_redirect_neigh
 * (the kernel resolves the neighbour, queues the packet until it answers,
 * and writes the Ethernet header); in XDP, the next hop into the metadata
 * and the packet passed to gw_tc_neigh, which does the same. The stack would
 * drop the translated packet as a martian (its source is the node's own),
 * and nothing would ever resolve the neighbour. Metadata refused by the
 * driver: passed to the stack (to_stack).
 */
static __always_inline enum gw_verdict via_neigh(struct pkt *p, __u32 ifindex, __be32 nexthop)
{
	if (p->tc) {
		struct bpf_redir_neigh nh = { .nh_family = AF_INET, .ipv4_nh = nexthop };

		ttl_dec(p->ip);
		COUNT(neigh_redirects);
		bpf_redirect_neigh(ifindex, &nh, sizeof(nh), 0);
		return GW_REDIRECT;
	}

	struct xdp_md *ctx = p->ctx;
	struct gw_neigh_meta *m;

	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*m))) {
		COUNT(to_stack);
		return GW_PASS;
	}
	ctx_barrier(ctx);
	m = (void *)(long)ctx->data_meta;
	if ((void *)(m + 1) > (void *)(long)ctx->data) {
		COUNT(to_stack);
		return GW_PASS;
	}
	m->magic = GW_NEIGH_MAGIC;
	m->ifindex = ifindex;
	m->nexthop = nexthop;
	COUNT(neigh_to_tc);
	return GW_NEIGH;
}

/*
 * Sends a translated packet on: to the flow's cached next hop while it is
 * fresh, else by bpf_fib_lookup (caching the answer in `hop`, a map value,
 * when given). A route but no neighbour entry: via_neigh(). No route:
 * passed to the stack.
 */
static __always_inline enum gw_verdict send_on(struct pkt *p, struct gw_hop *hop, __u32 now)
{
	struct bpf_fib_lookup fib = {};
	struct iphdr *ip = p->ip;
	long rc;

	if (hop && hop->ifindex && now - hop->at < GW_HOP_JIFFIES)
		return redirect_to(p, hop->ifindex, hop->dmac, hop->smac);
	fib.family = AF_INET;
	fib.tos = ip->tos;
	fib.l4_protocol = ip->protocol;
	/* XDP: the frame's length is checked against the MTU; tc (0): the skb's, GSO segments as segments */
	fib.tot_len = p->tc ? 0 : bpf_ntohs(ip->tot_len);
	fib.ipv4_src = ip->saddr;
	fib.ipv4_dst = ip->daddr;
	fib.ifindex = p->tc ? ((struct __sk_buff *)p->ctx)->ingress_ifindex : ((struct xdp_md *)p->ctx)->ingress_ifindex;
	rc = bpf_fib_lookup(p->ctx, &fib, sizeof(fib), 0);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return via_neigh(p, fib.ifindex, fib.ipv4_dst); /* nothing cached: the next packets look again */
	if (rc != BPF_FIB_LKUP_RET_SUCCESS) {
		COUNT(to_stack); /* the stack routes it, and decrements the TTL */
		return GW_PASS;
	}
	if (hop) {
		__builtin_memcpy(hop->dmac, fib.dmac, 6);
		__builtin_memcpy(hop->smac, fib.smac, 6);
		hop->at = now;
		hop->ifindex = fib.ifindex;
	}
	return redirect_to(p, fib.ifindex, fib.dmac, fib.smac);
}

/* ---- TCP and UDP ---- */

static __always_inline bool l4_of(struct pkt *p, __u8 proto, struct l4 *out)
{
	__u32 hl = p->ip->ihl * 4;
	void *l4p = (void *)p->ip + hl;

	if (proto == IPPROTO_TCP) {
		struct tcphdr *t = l4p;

		if ((void *)(t + 1) > p->end)
			return false;
		out->sport = &t->source;
		out->check = &t->check;
		out->check_off = sizeof(struct ethhdr) + hl + __builtin_offsetof(struct tcphdr, check);
		out->udp = false;
		return true;
	}
	if (proto == IPPROTO_UDP) {
		struct udphdr *u = l4p;

		if ((void *)(u + 1) > p->end)
			return false;
		out->sport = &u->source;
		out->check = &u->check;
		out->check_off = sizeof(struct ethhdr) + hl + __builtin_offsetof(struct udphdr, check);
		out->udp = true;
		return true;
	}
	return false;
}

/*
 * SNAT ports. gw_rev is the one record of the ports in use, per backend
 * address, port and protocol (a port serves one flow to each backend at a
 * time). A new flow tries GW_SNAT_TRIES ports by its hash (spread: nearly
 * always enough), then scans the whole range from its hash on (bpf_loop),
 * each a lookup, and an insert only where the port is free (a failing LRU
 * insert would cost a free node, or an eviction), so it finds a free port at
 * any fill level, in at most range steps. A scan that finds none marks the
 * backend in gw_snat_full at the clock: until gw_expire next advances the
 * clock (and frees what has ended), new flows to it are refused at once,
 * not scanned again. Refused: dropped, never passed untranslated (the
 * client's SYN or datagram is retried by the client).
 */
enum gw_new {
	GW_NEW_FLOW,
	GW_NEW_NO_BACKEND,
	GW_NEW_SNAT_BUSY,
};

struct snat_scan {
	struct gw_rev_key rk;
	struct gw_rev rv;
	__u32 min, range, start; /* start < range */
	bool placed;
};

static long snat_try(__u32 i, void *ctx)
{
	struct snat_scan *c = ctx;
	__u32 off = c->start + i;

	if (off >= c->range)
		off -= c->range;
	c->rk.snat_port = bpf_htons((__u16)(c->min + off));
	if (bpf_map_lookup_elem(&gw_rev, &c->rk) || bpf_map_update_elem(&gw_rev, &c->rk, &c->rv, BPF_NOEXIST))
		return 0;
	c->placed = true;
	return 1;
}

/* A new flow (h: its flow_hash; tcpf: FIN/RST of its first packet): backend by the table, SNAT port, both entries. */
static __always_inline enum gw_new new_flow(const struct lb_svc *s, const struct gw_ct_key *k, __u32 h, const struct gw_config *cfg, __u8 tcpf,
					    struct gw_ct *out)
{
	struct lb_backend be;
	__u32 id = s->table_size ? table_slot(s, h % s->table_size) : 0;
	__u32 clock = cfg->clock_ms;

	if (!backend_of(id, &be)) {
		COUNT(no_backend);
		return GW_NEW_NO_BACKEND;
	}
	struct snat_scan c = {
		.rk = { .backend_ip = be.ip, .backend_port = be.port, .proto = k->proto },
		.rv = { .client_ip = k->client_ip, .dst_ip = k->dst_ip, .client_port = k->client_port, .dst_port = k->dst_port,
			.service_id = s->id, .seen = clock },
		.min = cfg->snat_port_min,
		.range = (__u32)cfg->snat_port_max - cfg->snat_port_min + 1,
	};

	if (cfg->snat_port_max < cfg->snat_port_min || !cfg->snat_ip)
		c.range = 0;
	/* a lookup before each insert: a failing insert into an LRU map takes a free node first (and may evict for it) */
	for (int i = 0; i < GW_SNAT_TRIES && c.range && !c.placed; i++) {
		c.rk.snat_port = bpf_htons((__u16)(c.min + (h >> 8 ^ (__u32)i * 40503u) % c.range));
		if (!bpf_map_lookup_elem(&gw_rev, &c.rk) && !bpf_map_update_elem(&gw_rev, &c.rk, &c.rv, BPF_NOEXIST))
			c.placed = true;
	}
	if (!c.placed && c.range) {
		struct gw_rev_key full = { .backend_ip = be.ip, .backend_port = be.port, .proto = k->proto };
		__u32 *marked = bpf_map_lookup_elem(&gw_snat_full, &full);

		if (!marked || *marked != clock) {
			COUNT(snat_scans);
			c.start = (h >> 8) % c.range;
			bpf_loop(c.range, snat_try, &c, 0);
			if (!c.placed)
				bpf_map_update_elem(&gw_snat_full, &full, &clock, BPF_ANY);
		}
	}
	if (!c.placed) {
		COUNT(snat_busy);
		return GW_NEW_SNAT_BUSY;
	}
	out->backend_ip = be.ip;
	out->backend_port = be.port;
	out->snat_port = c.rk.snat_port;
	out->service_id = s->id;
	out->backend_id = id;
	out->seen = clock;
	out->flags = tcpf & (GW_FLOW_FIN | GW_FLOW_RST);
	bpf_map_update_elem(&gw_ct, k, out, BPF_ANY);
	COUNT(flows);
	return GW_NEW_FLOW;
}

/* Rewrites client -> frontend (k: as the client sent it) into SNAT -> backend and sends it on. */
static __always_inline enum gw_verdict forward_as(struct pkt *p, struct l4 *l, const struct gw_ct_key *k, const struct gw_ct *ct, __be32 snat,
						  struct gw_hop *hop, __u32 now)
{
	count_svc(ct->service_id, true, p->len);
	if (!translate(p, l, snat, ct->backend_ip, ct->snat_port, ct->backend_port))
		return GW_PASS;
	return fe_to_stack(send_on(p, hop, now), k->dst_ip, k->dst_port, k->proto);
}

static __always_inline bool same_flow(const struct gw_ct_key *a, const struct gw_ct_key *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;

	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3];
}

/*
 * A TCP packet's FIN and RST (GW_FLOW_FIN, GW_FLOW_RST), and GW_FLOW_SYN for
 * a SYN without ACK; 0 for UDP, or without expiry bookkeeping.
 */
static __always_inline __u8 tcp_flags(const struct pkt *p, const struct l4 *l, __u8 proto)
{
	const __u8 *f = (const __u8 *)l->sport + 13; /* the flags byte of the TCP header (l4_of() checked it whole) */
	__u8 b;

	if (!GW_EXPIRY || proto != IPPROTO_TCP || (const void *)(f + 1) > p->end) /* a bound the verifier sees */
		return 0;
	b = *f;
	return (b & (GW_FLOW_FIN | GW_FLOW_RST)) | ((b & (GW_FLOW_SYN | TCP_FLAG_ACK)) == GW_FLOW_SYN ? GW_FLOW_SYN : 0);
}

/* A flow's entry seen now, with these flags (GW_FLOW_SYN is not kept): written only when that changes (once a sweep interval at most). */
static __always_inline void stamp(__u32 *seen, __u8 *flags, __u32 clock, __u8 add)
{
	if (!GW_EXPIRY)
		return;
	add &= (__u8)~GW_FLOW_SYN;
	if (*seen != clock)
		*seen = clock;
	if ((*flags | add) != *flags)
		*flags |= add;
}

/* A flow's gw_rev entry (k: its gw_ct key), NULL when gone (evicted, or its port reused by another flow since). */
static __always_inline struct gw_rev *rev_of(const struct gw_ct_key *k, const struct gw_ct *ct)
{
	struct gw_rev_key rk = { .backend_ip = ct->backend_ip, .backend_port = ct->backend_port, .snat_port = ct->snat_port, .proto = k->proto };
	struct gw_rev *rv = bpf_map_lookup_elem(&gw_rev, &rk);

	if (rv && rv->client_ip == k->client_ip && rv->dst_ip == k->dst_ip && rv->client_port == k->client_port && rv->dst_port == k->dst_port)
		return rv;
	return NULL;
}

/*
 * A SYN without ACK on a tracked flow: the client opens a new connection on
 * the same tuple, so a FIN or RST the old one showed (either way) is stale.
 * Both entries' flags are cleared: the new connection has the SYN timeout
 * until the backend answers, then the established one, not the old one's
 * closing timeout (after which its replies would find no flow). A SYN
 * retransmitted before any FIN or RST changes nothing.
 */
static __always_inline void restart(const struct gw_ct_key *k, struct gw_ct *ct)
{
	struct gw_rev *rv = rev_of(k, ct);
	__u8 stale = ct->flags | (rv ? rv->flags : 0);

	if (!(stale & (GW_FLOW_FIN | GW_FLOW_RST)))
		return;
	ct->flags = 0;
	if (rv)
		rv->flags = 0;
}

/* This CPU's gw_flow_cache slot for a flow of hash h (see gateway.h). */
static __always_inline struct gw_flow_slot *flow_slot(__u32 h)
{
	__u32 i = h & (GW_FLOW_CACHE_SLOTS - 1);

	return bpf_map_lookup_elem(&gw_flow_cache, &i);
}

/* A flow's entry copied into its slot, stamped `now`: the copy its packets use while fresh. */
static __always_inline struct gw_ct *cache_flow(struct gw_flow_slot *slot, const struct gw_ct_key *k, const struct gw_ct *ct, __u32 now)
{
	__builtin_memcpy(&slot->key, k, sizeof(*k));
	__builtin_memcpy(&slot->ct, ct, sizeof(*ct));
	slot->at = now;
	return &slot->ct;
}

/*
 * A frontend's first packet (after forward() found no flow): the service of
 * the destination (an external IP:port, else for a node address its
 * NodePort), a new flow, and the packet sent on as its first.
 */
static __always_inline enum gw_verdict first_packet(struct pkt *p, struct l4 *l, __u32 flags, const struct gw_ct_key *k, __u32 h, const struct gw_config *cfg,
						    struct gw_flow_slot *slot, __u32 now, __u8 tcpf)
{
	struct lb_svc_key key = { .vip = (flags & GW_DEST_VIP) ? k->dst_ip : 0, .port = k->dst_port, .proto = k->proto };
	enum gw_new made;
	struct lb_svc s;
	struct gw_ct ct;

	if (!service_of(&key, &s)) {
		if ((flags & (GW_DEST_VIP | GW_DEST_NODE)) != (GW_DEST_VIP | GW_DEST_NODE))
			return GW_NOT_OURS;
		key.vip = 0;
		if (!service_of(&key, &s))
			return GW_NOT_OURS;
	}
	__builtin_memset(&ct, 0, sizeof(ct));
	/* the frontend that matched (key), counted here: no backend, or no free SNAT port (both dropped) */
	struct gw_fe_stats *fe = bpf_map_lookup_elem(&gw_fe_stats, &key);

	made = new_flow(&s, k, h, cfg, tcpf, &ct);
	if (made != GW_NEW_FLOW) {
		count_svc(s.id, true, p->len);
		if (fe && made == GW_NEW_NO_BACKEND)
			fe->no_backend++;
		else if (fe)
			fe->snat_busy++;
		return GW_DROP;
	}
	if (fe)
		fe->flows++;
	if (slot)
		return forward_as(p, l, k, cache_flow(slot, k, &ct, now), cfg->snat_ip, &slot->ct.hop, now);
	return forward_as(p, l, k, &ct, cfg->snat_ip, NULL, now);
}

/*
 * Client -> a gateway address: a tracked flow goes on as tracked (also while
 * its service changes: the agent removes the flows of deleted services),
 * from this CPU's copy while it is fresh, else from gw_ct; otherwise a
 * frontend's first packet makes a flow. GW_NOT_OURS for any other packet.
 */
static __always_inline enum gw_verdict forward(struct pkt *p, struct l4 *l, __u32 flags)
{
	__u32 k0 = 0, now = (__u32)bpf_jiffies64();
	struct gw_config *cfg = bpf_map_lookup_elem(&gw_config, &k0);
	struct iphdr *ip = p->ip;
	struct gw_ct_key k = { .client_ip = ip->saddr, .dst_ip = ip->daddr, .client_port = l->sport[0], .dst_port = l->sport[1],
			       .proto = ip->protocol };
	__u32 h = flow_hash(&k);
	struct gw_flow_slot *slot = flow_slot(h);
	__u8 tcpf = tcp_flags(p, l, k.proto);
	struct gw_ct *found;

	if (!cfg)
		return GW_NOT_OURS;
	if (slot && !tcpf && now - slot->at < GW_HOP_JIFFIES && slot->ct.backend_ip && same_flow(&slot->key, &k)) {
		COUNT(tracked);
		return forward_as(p, l, &k, &slot->ct, cfg->snat_ip, &slot->ct.hop, now);
	}
	found = bpf_map_lookup_elem(&gw_ct, &k);
	if (found) {
		COUNT(tracked);
		if (tcpf & GW_FLOW_SYN)
			restart(&k, found);
		stamp(&found->seen, &found->flags, cfg->clock_ms, tcpf);
		if (slot)
			found = cache_flow(slot, &k, found, now);
		return forward_as(p, l, &k, found, cfg->snat_ip, &found->hop, now);
	}
	return first_packet(p, l, flags, &k, h, cfg, slot, now, tcpf);
}

/* Backend -> SNAT address: back to the client, from the address it used. */
static __always_inline enum gw_verdict reply(struct pkt *p, struct l4 *l)
{
	struct gw_rev_key rk = { .backend_ip = p->ip->saddr, .backend_port = l->sport[0], .snat_port = l->sport[1], .proto = p->ip->protocol };
	struct gw_rev *rv = bpf_map_lookup_elem(&gw_rev, &rk);

	if (!rv)
		return GW_PASS;
	COUNT(replies);
	if (GW_EXPIRY) {
		__u32 k0 = 0;
		struct gw_config *cfg = bpf_map_lookup_elem(&gw_config, &k0);

		if (cfg)
			stamp(&rv->seen, &rv->flags, cfg->clock_ms, GW_FLOW_REPLIED | tcp_flags(p, l, rk.proto));
	}
	count_svc(rv->service_id, false, p->len);
	if (!translate(p, l, rv->dst_ip, rv->client_ip, rv->dst_port, rv->client_port))
		return GW_PASS;
	return fe_to_stack(send_on(p, &rv->hop, (__u32)bpf_jiffies64()), rv->dst_ip, rv->dst_port, rk.proto);
}

/* ---- flow lifetimes ---- */

/*
 * gw_expire, run by the agent every sweep interval through BPF_PROG_TEST_RUN
 * (never attached; a 14-byte dummy frame): advances gw_config.clock_ms by the
 * time since its last run, then walks gw_ct and ends
 * every flow idle (by the later stamp of its two entries) for longer than
 * its timeout, like a conntrack: TCP without a reply yet (SYN), TCP replied
 * (established), TCP after a FIN each way or an RST either way (closing),
 * UDP. Ending a flow deletes its gw_rev entry (which frees its SNAT port:
 * gw_rev is the record of ports in use), its gw_ct entry, and its copy in
 * gw_flow_cache on every CPU. A removed backend's flows end once idle for
 * the closing timeout (backend_gone()). A flow whose gw_rev entry is gone (evicted)
 * ends at once (its replies could not come back); a gw_rev entry whose flow
 * is gone ends after the closing timeout. The clock counts time swept, not
 * time passed: a gap between two runs longer than clock_step_max_ms (a few
 * sweep intervals, set by the agent) counts as that much. While no agent runs
 * (a restart, a crash) packets stamp the clock that stopped, so a flow that
 * talked through the pause looks idle for all of it; counted whole, the
 * successor's first run would end every live flow with a shorter timeout.
 * An idle flow ends that much later instead. Cost: per packet, see GW_EXPIRY;
 * per sweep, one pass over both tables in the kernel (no copy to the
 * agent), in one run that cannot stop and resume (bpf_for_each_map_elem
 * always starts at the first entry): the agent bounds the tables' size for
 * it (MAX_FLOW_ENTRIES in agent/modules/gateway/expiry.ts). Returns the
 * flows it ended.
 */
struct expiry {
	__u32 clock, syn, established, closing, udp;
	__u32 ended;
};

/* How long a flow may stay idle: by protocol and, for TCP, by what each direction showed. */
static __always_inline __u32 timeout_of(const struct expiry *e, __u8 proto, __u8 fwd, __u8 back)
{
	if (proto != IPPROTO_TCP)
		return e->udp;
	if (((fwd | back) & GW_FLOW_RST) || (fwd & back & GW_FLOW_FIN))
		return e->closing;
	return (back & GW_FLOW_REPLIED) ? e->established : e->syn;
}

/* Idle for `timeout` ms since `seen` (clock differences: right across the clock's wrap; the agent keeps timeouts < 2^31 ms). */
static __always_inline bool idle_for(const struct expiry *e, __u32 seen, __u32 timeout)
{
	return (__s32)(e->clock - seen) >= (__s32)timeout;
}

struct uncache_ctx {
	struct gw_ct_key k;
	__u32 slot;
};

static long uncache_on(__u32 cpu, void *ctx)
{
	struct uncache_ctx *c = ctx;
	struct gw_flow_slot *slot = bpf_map_lookup_percpu_elem(&gw_flow_cache, &c->slot, cpu);

	if (!slot)
		return 1; /* no such CPU: done */
	if (same_flow(&slot->key, &c->k))
		slot->ct.backend_ip = 0;
	return 0;
}

/* Clears a flow's copy in gw_flow_cache on every CPU (up to GW_EXPIRE_CPUS; others' copies go stale within GW_HOP_JIFFIES). */
static __always_inline void uncache(const struct gw_ct_key *k)
{
	struct uncache_ctx c = { .k = *k, .slot = flow_hash(k) & (GW_FLOW_CACHE_SLOTS - 1) };

	bpf_loop(GW_EXPIRE_CPUS, uncache_on, &c, 0);
}

/*
 * Whether a flow's backend is no longer listed: its slot marked none (removed,
 * in quarantine), cleared, or given to another address. Its flows then end
 * once idle for the closing timeout: a connection still talking goes on (a
 * backend removed while it drains), an idle or dead one does not wait hours.
 */
static __always_inline bool backend_gone(const struct gw_ct *ct)
{
	struct lb_backend be;

	if (!backend_of(ct->backend_id, &be))
		return true;
	return be.state == LB_BACKEND_NONE || be.ip != ct->backend_ip || be.port != ct->backend_port;
}

static long expire_flow(struct bpf_map *map, const void *key, void *value, void *ctx)
{
	struct expiry *e = ctx;
	struct gw_ct_key k = *(const struct gw_ct_key *)key; /* a copy: an LRU element is reused at once when deleted */
	struct gw_ct *ct = value;
	struct gw_rev_key rk = { .backend_ip = ct->backend_ip, .backend_port = ct->backend_port, .snat_port = ct->snat_port, .proto = k.proto };
	struct gw_rev *rv = rev_of(&k, ct);

	if (rv) {
		__u32 seen = (__s32)(rv->seen - ct->seen) > 0 ? rv->seen : ct->seen;
		__u32 timeout = timeout_of(e, k.proto, ct->flags, rv->flags);

		if (timeout > e->closing && backend_gone(ct))
			timeout = e->closing;
		if (!idle_for(e, seen, timeout))
			return 0;
		bpf_map_delete_elem(&gw_rev, &rk);
	}
	bpf_map_delete_elem(&gw_ct, &k);
	uncache(&k);
	COUNT(expired);
	e->ended++;
	/* its frontend: the address and port the client used, else the NodePort's (as first_packet() chose) */
	struct gw_fe_stats *fe = fe_stats(k.dst_ip, k.dst_port, k.proto);

	if (!fe)
		fe = fe_stats(0, k.dst_port, k.proto);
	if (fe)
		fe->expired++;
	return 0;
}

static long expire_orphan(struct bpf_map *map, const void *key, void *value, void *ctx)
{
	struct expiry *e = ctx;
	struct gw_rev_key rk = *(const struct gw_rev_key *)key;
	struct gw_rev *rv = value;
	struct gw_ct_key k = { .client_ip = rv->client_ip, .dst_ip = rv->dst_ip, .client_port = rv->client_port, .dst_port = rv->dst_port,
			       .proto = rk.proto };
	struct gw_ct *ct = bpf_map_lookup_elem(&gw_ct, &k);

	if (ct && ct->snat_port == rk.snat_port && ct->backend_ip == rk.backend_ip && ct->backend_port == rk.backend_port)
		return 0; /* its flow's: ends with it */
	if (idle_for(e, rv->seen, e->closing))
		bpf_map_delete_elem(&gw_rev, &rk);
	return 0;
}

/* A tc program: its test_run takes no RCU grace period (an XDP program's swaps the XDP dispatcher, twice per run). */
SEC("tc")
int gw_expire(struct __sk_buff *skb)
{
	__u32 k0 = 0;
	struct gw_config *cfg = bpf_map_lookup_elem(&gw_config, &k0);
	struct expiry e = {};
	__u32 now, step;

	if (!cfg)
		return 0;
	now = (__u32)(bpf_ktime_get_coarse_ns() / 1000000);
	step = now - cfg->swept_ms;
	/* a pause: its packets stamped the stuck clock, so its length tells nothing of how long a flow was idle */
	if (!cfg->swept_ms || step > cfg->clock_step_max_ms)
		step = cfg->clock_step_max_ms;
	cfg->swept_ms = now;
	e.clock = cfg->clock_ms + step;
	cfg->clock_ms = e.clock;
	e.syn = cfg->timeout_syn_ms;
	e.established = cfg->timeout_established_ms;
	e.closing = cfg->timeout_closing_ms;
	e.udp = cfg->timeout_udp_ms;
	bpf_for_each_map_elem(&gw_ct, expire_flow, &e, 0);
	bpf_for_each_map_elem(&gw_rev, expire_orphan, &e, 0);
	return e.ended;
}

/* ---- ICMP errors ---- */

/*
 * Rewrites the inner header of an ICMP error (a 20-byte IPv4 header and the
 * first 8 bytes of TCP/UDP): inner source and destination with their ports,
 * the inner IP checksum, and the ICMP checksum for all of it. The inner L4
 * checksum is left as it is (receivers do not check it in an ICMP error).
 */
static __always_inline void inner_rewrite(__u16 *icmp_check, struct iphdr *in, __u16 *ports, __be32 saddr, __be32 daddr, __u16 sport,
					  __u16 dport)
{
	__u32 d = csum_diff4(in->saddr, saddr) + csum_diff4(in->daddr, daddr);
	__u16 old_check = in->check;

	csum_apply((__u16 *)&in->check, d);
	csum_apply(icmp_check, d + csum_diff2(old_check, in->check) + csum_diff2(ports[0], sport) + csum_diff2(ports[1], dport));
	in->saddr = saddr;
	in->daddr = daddr;
	ports[0] = sport;
	ports[1] = dport;
}

static __always_inline void outer_rewrite(struct iphdr *ip, __be32 saddr, __be32 daddr)
{
	csum_apply((__u16 *)&ip->check, csum_diff4(ip->saddr, saddr) + csum_diff4(ip->daddr, daddr));
	ip->saddr = saddr;
	ip->daddr = daddr;
}

static __always_inline enum gw_verdict icmp_error(struct pkt *p, __u32 flags)
{
	struct icmphdr *icmp = (void *)p->ip + p->ip->ihl * 4;
	void *end = p->end;
	struct iphdr *in;
	__u16 *ports;

	if ((void *)(icmp + 1) > end)
		goto malformed;
	if (icmp->type != ICMP_DEST_UNREACH && icmp->type != ICMP_TIME_EXCEEDED && icmp->type != ICMP_PARAMETERPROB)
		return GW_PASS;
	in = (void *)(icmp + 1);
	if ((void *)(in + 1) > end)
		goto malformed;
	if (in->ihl != 5 || (in->protocol != IPPROTO_TCP && in->protocol != IPPROTO_UDP))
		return GW_PASS; /* inner options or another protocol: not ours to translate */
	ports = (__u16 *)(in + 1);
	if ((void *)(ports + 2) > end)
		goto malformed;

	__u32 k0 = 0;
	struct gw_config *cfg = bpf_map_lookup_elem(&gw_config, &k0);

	if (!cfg)
		return GW_PASS;
	if ((flags & GW_DEST_SNAT) && in->saddr == cfg->snat_ip) {
		/* about a packet we sent a backend (snat:sp -> b:bp): back to the client, about d:dp <- c:cp */
		struct gw_rev_key rk = { .backend_ip = in->daddr, .backend_port = ports[1], .snat_port = ports[0], .proto = in->protocol };
		struct gw_rev *found = bpf_map_lookup_elem(&gw_rev, &rk);
		struct gw_rev rv;

		if (!found)
			return GW_PASS;
		__builtin_memcpy(&rv, found, sizeof(rv));
		inner_rewrite(&icmp->checksum, in, ports, rv.client_ip, rv.dst_ip, rv.client_port, rv.dst_port);
		outer_rewrite(p->ip, rv.dst_ip, rv.client_ip);
		COUNT(icmp);
		return fe_to_stack(send_on(p, NULL, 0), rv.dst_ip, rv.dst_port, rk.proto);
	}
	if (flags & (GW_DEST_VIP | GW_DEST_NODE)) {
		/* about a reply we sent a client (d:dp -> c:cp): to the backend, about b:bp -> snat:sp */
		struct gw_ct_key k = { .client_ip = in->daddr, .dst_ip = in->saddr, .client_port = ports[1], .dst_port = ports[0],
				       .proto = in->protocol };
		struct gw_ct *found = bpf_map_lookup_elem(&gw_ct, &k);
		struct gw_ct ct;

		if (!found)
			return GW_PASS;
		__builtin_memcpy(&ct, found, sizeof(ct));
		inner_rewrite(&icmp->checksum, in, ports, ct.backend_ip, cfg->snat_ip, ct.backend_port, ct.snat_port);
		outer_rewrite(p->ip, cfg->snat_ip, ct.backend_ip);
		COUNT(icmp);
		return fe_to_stack(send_on(p, NULL, 0), k.dst_ip, k.dst_port, k.proto);
	}
	return GW_PASS;
malformed:
	COUNT(malformed);
	return GW_PASS;
}

/* ---- entry ---- */

/* A packet for a gateway address (flags: what the address is). */
static __always_inline enum gw_verdict gateway(struct pkt *p, __u32 flags)
{
	struct iphdr *ip = p->ip;
	__u32 hl = ip->ihl * 4, tot = bpf_ntohs(ip->tot_len);
	struct l4 l;

	if (ip->version != 4 || hl < sizeof(*ip) || tot < hl || sizeof(struct ethhdr) + tot > p->len) {
		COUNT(malformed);
		return GW_PASS;
	}
	if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET)) {
		COUNT(fragments);
		return GW_PASS;
	}
	if (ip->ttl <= 1) {
		COUNT(ttl);
		return GW_PASS;
	}
	if (ip->protocol == IPPROTO_ICMP)
		return icmp_error(p, flags);
	if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
		return GW_PASS;
	if (!l4_of(p, ip->protocol, &l)) {
		COUNT(malformed);
		return GW_PASS;
	}
	if (flags & (GW_DEST_VIP | GW_DEST_NODE)) {
		enum gw_verdict v = forward(p, &l, flags);

		if (v != GW_NOT_OURS)
			return v;
	}
	if (flags & GW_DEST_SNAT)
		return reply(p, &l);
	return GW_PASS;
}

/* An IPv4 packet for a gateway address: its flags, else 0 (the packet is none of ours). */
static __always_inline __u32 ours(struct pkt *p)
{
	if ((void *)(p->ip + 1) > p->end || p->eth->h_proto != bpf_htons(ETH_P_IP))
		return 0;
	return dest_flags(p->ip->daddr);
}

SEC("xdp")
int gw_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	struct pkt p = { .ctx = ctx, .eth = data, .ip = data + sizeof(struct ethhdr), .end = (void *)(long)ctx->data_end, .tc = false };
	__u32 flags = ours(&p);

	if (!flags)
		return XDP_PASS;
	p.len = p.end - data;
	switch (gateway(&p, flags)) {
	case GW_DROP:
		return XDP_DROP;
	case GW_REDIRECT:
		return XDP_REDIRECT;
	default:
		return XDP_PASS;
	}
}

/*
 * The same on tc ingress: for devices without XDP, and for packets XDP
 * cannot take whole (a namespace's GSO frames larger than the MTU, which
 * generic XDP's redirect refuses). Packets not ours go on to the next filter.
 */
SEC("tc")
int gw_tc(struct __sk_buff *skb)
{
	struct pkt p = { .ctx = skb, .len = skb->len, .tc = true };
	__u32 flags, linear = skb->data_end - skb->data;

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return TC_ACT_UNSPEC;
	if (linear < GW_TC_PULL && skb->len > linear)
		bpf_skb_pull_data(skb, skb->len < GW_TC_PULL ? skb->len : GW_TC_PULL);
	ctx_barrier(skb);
	p.eth = (void *)(long)skb->data;
	p.ip = (void *)(p.eth + 1);
	p.end = (void *)(long)skb->data_end;
	flags = ours(&p);
	if (!flags)
		return TC_ACT_UNSPEC;
	switch (gateway(&p, flags)) {
	case GW_DROP:
		return TC_ACT_SHOT;
	case GW_REDIRECT:
		return TC_ACT_REDIRECT;
	default:
		return TC_ACT_UNSPEC;
	}
}

/*
 * With gw_xdp, on tc ingress of the same devices: sends on the packets gw_xdp
 * translated but found no neighbour for (struct gw_neigh_meta), by
 * bpf_redirect_neigh. Any other packet goes on to the next filter untouched.
 */
SEC("tc")
int gw_tc_neigh(struct __sk_buff *skb)
{
	struct gw_neigh_meta *m = (void *)(long)skb->data_meta;
	void *data = (void *)(long)skb->data;
	struct pkt p = { .ctx = skb, .eth = data, .ip = data + sizeof(struct ethhdr), .end = (void *)(long)skb->data_end, .len = skb->len,
			 .tc = true };

	if ((void *)(m + 1) > data || m->magic != GW_NEIGH_MAGIC || (void *)(p.ip + 1) > p.end)
		return TC_ACT_UNSPEC;
	return via_neigh(&p, m->ifindex, m->nexthop) == GW_REDIRECT ? TC_ACT_REDIRECT : TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

// SPDX-License-Identifier: GPL-2.0
/*
 * North-south gateway in XDP: a packet entering a configured interface for an
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
 * the backend sends back); a new flow takes a SNAT port from the configured
 * range (hash of the flow, GW_SNAT_TRIES probes). ICMP errors (destination
 * unreachable, time exceeded, parameter problem) about a tracked flow are
 * translated the same way, inner header included. Checksums are updated
 * incrementally (RFC 1624); a UDP checksum of 0 stays 0.
 *
 * After translation the packet is sent on by bpf_fib_lookup + bpf_redirect;
 * when the kernel knows no route or neighbour yet it is passed to the stack
 * (counted as to_stack).
 *
 * Anything else passes untouched: a packet whose destination is not a
 * gateway address costs a header check and one bit of gw_filter (an array
 * read in place); a filter hit is confirmed in gw_dests. For gateway
 * addresses, as documented in README: IP options are skipped (the L4 header
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

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gw_filter);
} gw_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GW_MAX_DESTS);
	__type(key, __be32);
	__type(value, __u32); /* GW_DEST_* */
} gw_dests SEC(".maps");

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

const volatile enum ek8s_gw_limits gw_limits_btf;
const volatile enum ek8s_gw_dest_flags gw_flags_btf;

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

static __always_inline void csum_replace4(__u16 *check, __u32 from, __u32 to)
{
	__u32 s = (__u16)~*check;

	s += (__u16)~from + (__u16)~(from >> 16) + (__u16)to + (__u16)(to >> 16);
	*check = ~csum_fold32(s);
}

static __always_inline void csum_replace2(__u16 *check, __u16 from, __u16 to)
{
	__u32 s = (__u16)~*check;

	s += (__u16)~from + to;
	*check = ~csum_fold32(s);
}

/* An L4 checksum (TCP, or UDP unless 0) after one address and one port changed. */
static __always_inline void l4_csum(__u16 *check, bool udp, __u32 ip_from, __u32 ip_to, __u16 port_from, __u16 port_to)
{
	if (udp && !*check)
		return;
	csum_replace4(check, ip_from, ip_to);
	csum_replace2(check, port_from, port_to);
	if (udp && !*check)
		*check = 0xffff;
}

/* ---- lookups ---- */

static __always_inline __u32 dest_hash(__be32 a)
{
	return ((__u32)a * 0x9e3779b1u) >> 16;
}

static __always_inline bool filter_hit(__be32 daddr)
{
	__u32 k = 0, h = dest_hash(daddr);
	struct gw_filter *f = bpf_map_lookup_elem(&gw_filter, &k);

	if (!f)
		return false;
	return (f->bits[(h >> 6) & (GW_FILTER_WORDS - 1)] >> (h & 63)) & 1;
}

LB_TABLE_READERS(gw)

static __always_inline __u32 flow_hash(__be32 saddr, __be32 daddr, __u32 ports, __u8 proto)
{
	__u64 h = ((__u64)saddr << 32 | daddr) ^ ((__u64)ports * 0x9e3779b97f4a7c15ULL) ^ proto;

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (__u32)h;
}

static __always_inline void count_svc(__u32 id, bool in, __u64 bytes)
{
	struct gw_svc_stats *st = bpf_map_lookup_elem(&gw_svc_stats, &id);

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

/* ---- sending on ---- */

/* TTL minus one (the gateway forwards); the caller checked TTL > 1. */
static __always_inline void ttl_dec(struct iphdr *ip)
{
	/* ttl and protocol make one 16-bit word of the header; TTL - 1 takes 0x0100 off it in network order */
	__u16 old = bpf_htons((__u16)ip->ttl << 8 | ip->protocol);

	ip->ttl--;
	csum_replace2(&ip->check, old, old - bpf_htons(0x0100));
}

/*
 * Sends a translated packet on: to the flow's cached next hop while it is
 * fresh, else by bpf_fib_lookup (caching the answer in `hop`, a map value,
 * when given). No route or neighbour known: passed to the stack.
 */
static __always_inline int send_on(struct xdp_md *ctx, struct ethhdr *eth, struct iphdr *ip, struct gw_hop *hop)
{
	__u32 now = (__u32)bpf_jiffies64();
	struct bpf_fib_lookup fib = {};
	long rc;

	if (hop && hop->ifindex && now - hop->at < GW_HOP_JIFFIES) {
		__builtin_memcpy(eth->h_dest, hop->dmac, 6);
		__builtin_memcpy(eth->h_source, hop->smac, 6);
		ttl_dec(ip);
		return bpf_redirect(hop->ifindex, 0);
	}
	fib.family = AF_INET;
	fib.tos = ip->tos;
	fib.l4_protocol = ip->protocol;
	fib.tot_len = bpf_ntohs(ip->tot_len);
	fib.ipv4_src = ip->saddr;
	fib.ipv4_dst = ip->daddr;
	fib.ifindex = ctx->ingress_ifindex;
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS) {
		COUNT(to_stack); /* the stack routes it, and decrements the TTL */
		return XDP_PASS;
	}
	if (hop) {
		__builtin_memcpy(hop->dmac, fib.dmac, 6);
		__builtin_memcpy(hop->smac, fib.smac, 6);
		hop->at = now;
		hop->ifindex = fib.ifindex;
	}
	ttl_dec(ip);
	__builtin_memcpy(eth->h_dest, fib.dmac, 6);
	__builtin_memcpy(eth->h_source, fib.smac, 6);
	return bpf_redirect(fib.ifindex, 0);
}

/* ---- TCP and UDP ---- */

struct l4 {
	__u16 *sport; /* sport, dport adjacent */
	__u16 *check;
	bool udp;
};

static __always_inline bool l4_of(void *l4p, void *end, __u8 proto, struct l4 *out)
{
	if (proto == IPPROTO_TCP) {
		struct tcphdr *t = l4p;

		if ((void *)(t + 1) > end)
			return false;
		out->sport = &t->source;
		out->check = &t->check;
		out->udp = false;
		return true;
	}
	if (proto == IPPROTO_UDP) {
		struct udphdr *u = l4p;

		if ((void *)(u + 1) > end)
			return false;
		out->sport = &u->source;
		out->check = &u->check;
		out->udp = true;
		return true;
	}
	return false;
}

/* A new flow: backend by the table, SNAT port, both entries. False: passed (*verdict set). */
static __always_inline bool new_flow(const struct lb_svc *s, const struct gw_ct_key *k, const struct gw_config *cfg, struct gw_ct *out,
				     int *verdict)
{
	struct lb_backend be;
	__u32 h = flow_hash(k->client_ip, k->dst_ip, (__u32)k->client_port << 16 | k->dst_port, k->proto);
	__u32 id = s->table_size ? table_slot(s, h % s->table_size) : 0;

	if (!backend_of(id, &be)) {
		COUNT(no_backend);
		*verdict = XDP_DROP;
		return false;
	}
	__u32 min = cfg->snat_port_min, range = (__u32)cfg->snat_port_max - min + 1;
	struct gw_rev_key rk = { .backend_ip = be.ip, .backend_port = be.port, .proto = k->proto };
	struct gw_rev rv = { .client_ip = k->client_ip, .dst_ip = k->dst_ip, .client_port = k->client_port, .dst_port = k->dst_port,
			     .service_id = s->id };
	bool placed = false;

	if (cfg->snat_port_max < cfg->snat_port_min || !cfg->snat_ip)
		range = 0;
	for (int i = 0; i < GW_SNAT_TRIES && range; i++) {
		rk.snat_port = bpf_htons((__u16)(min + (h >> 8 ^ (__u32)i * 40503u) % range));
		if (!bpf_map_update_elem(&gw_rev, &rk, &rv, BPF_NOEXIST)) {
			placed = true;
			break;
		}
	}
	if (!placed) {
		COUNT(snat_busy);
		*verdict = XDP_PASS;
		return false;
	}
	out->backend_ip = be.ip;
	out->backend_port = be.port;
	out->snat_port = rk.snat_port;
	out->service_id = s->id;
	out->backend_id = id;
	bpf_map_update_elem(&gw_ct, k, out, BPF_ANY);
	COUNT(flows);
	return true;
}

/* Rewrites client -> frontend into SNAT -> backend and sends it on. */
static __always_inline int forward_as(struct xdp_md *ctx, struct ethhdr *eth, struct iphdr *ip, struct l4 *l, const struct gw_ct *ct,
				      __be32 snat, struct gw_hop *hop)
{
	count_svc(ct->service_id, true, (long)ctx->data_end - (long)ctx->data);
	l4_csum(l->check, l->udp, ip->saddr, snat, l->sport[0], ct->snat_port);
	l4_csum(l->check, l->udp, ip->daddr, ct->backend_ip, l->sport[1], ct->backend_port);
	csum_replace4((__u16 *)&ip->check, ip->saddr, snat);
	csum_replace4((__u16 *)&ip->check, ip->daddr, ct->backend_ip);
	ip->saddr = snat;
	ip->daddr = ct->backend_ip;
	l->sport[0] = ct->snat_port;
	l->sport[1] = ct->backend_port;
	return send_on(ctx, eth, ip, hop);
}

#define NOT_OURS -1

/*
 * Client -> a gateway address: a tracked flow goes on as tracked (also while
 * its service changes: the agent removes the flows of deleted services);
 * otherwise a frontend's first packet makes a flow. NOT_OURS for any other packet.
 */
static __always_inline int forward(struct xdp_md *ctx, struct ethhdr *eth, struct iphdr *ip, struct l4 *l, __u32 flags)
{
	__u32 k0 = 0;
	struct gw_config *cfg = bpf_map_lookup_elem(&gw_config, &k0);
	struct gw_ct_key k = { .client_ip = ip->saddr, .dst_ip = ip->daddr, .client_port = l->sport[0], .dst_port = l->sport[1],
			       .proto = ip->protocol };
	struct gw_ct ct, *found;
	struct lb_svc_key key = { .vip = (flags & GW_DEST_VIP) ? ip->daddr : 0, .port = l->sport[1], .proto = ip->protocol };
	struct lb_svc s;
	int verdict;

	if (!cfg)
		return NOT_OURS;
	found = bpf_map_lookup_elem(&gw_ct, &k);
	if (found) {
		COUNT(tracked);
		return forward_as(ctx, eth, ip, l, found, cfg->snat_ip, &found->hop);
	}
	if (!service_of(&key, &s)) {
		if ((flags & (GW_DEST_VIP | GW_DEST_NODE)) != (GW_DEST_VIP | GW_DEST_NODE))
			return NOT_OURS;
		key.vip = 0;
		if (!service_of(&key, &s))
			return NOT_OURS;
	}
	__builtin_memset(&ct, 0, sizeof(ct));
	if (!new_flow(&s, &k, cfg, &ct, &verdict)) {
		if (verdict == XDP_DROP)
			count_svc(s.id, true, (long)ctx->data_end - (long)ctx->data);
		return verdict;
	}
	return forward_as(ctx, eth, ip, l, &ct, cfg->snat_ip, NULL);
}

/* Backend -> SNAT address: back to the client, from the address it used. */
static __always_inline int reply(struct xdp_md *ctx, struct ethhdr *eth, struct iphdr *ip, struct l4 *l)
{
	struct gw_rev_key rk = { .backend_ip = ip->saddr, .backend_port = l->sport[0], .snat_port = l->sport[1], .proto = ip->protocol };
	struct gw_rev *rv = bpf_map_lookup_elem(&gw_rev, &rk);

	if (!rv)
		return XDP_PASS;
	COUNT(replies);
	count_svc(rv->service_id, false, (long)ctx->data_end - (long)ctx->data);
	l4_csum(l->check, l->udp, ip->saddr, rv->dst_ip, l->sport[0], rv->dst_port);
	l4_csum(l->check, l->udp, ip->daddr, rv->client_ip, l->sport[1], rv->client_port);
	csum_replace4((__u16 *)&ip->check, ip->saddr, rv->dst_ip);
	csum_replace4((__u16 *)&ip->check, ip->daddr, rv->client_ip);
	ip->saddr = rv->dst_ip;
	ip->daddr = rv->client_ip;
	l->sport[0] = rv->dst_port;
	l->sport[1] = rv->client_port;
	return send_on(ctx, eth, ip, &rv->hop);
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
	__u16 old_check = in->check;

	csum_replace4((__u16 *)&in->check, in->saddr, saddr);
	csum_replace4((__u16 *)&in->check, in->daddr, daddr);
	csum_replace4(icmp_check, in->saddr, saddr);
	csum_replace4(icmp_check, in->daddr, daddr);
	csum_replace2(icmp_check, old_check, in->check);
	csum_replace2(icmp_check, ports[0], sport);
	csum_replace2(icmp_check, ports[1], dport);
	in->saddr = saddr;
	in->daddr = daddr;
	ports[0] = sport;
	ports[1] = dport;
}

static __always_inline void outer_rewrite(struct iphdr *ip, __be32 saddr, __be32 daddr)
{
	csum_replace4((__u16 *)&ip->check, ip->saddr, saddr);
	csum_replace4((__u16 *)&ip->check, ip->daddr, daddr);
	ip->saddr = saddr;
	ip->daddr = daddr;
}

static __always_inline int icmp_error(struct xdp_md *ctx, struct ethhdr *eth, struct iphdr *ip, void *l4p, void *end, __u32 flags)
{
	struct icmphdr *icmp = l4p;
	struct iphdr *in;
	__u16 *ports;

	if ((void *)(icmp + 1) > end)
		goto malformed;
	if (icmp->type != ICMP_DEST_UNREACH && icmp->type != ICMP_TIME_EXCEEDED && icmp->type != ICMP_PARAMETERPROB)
		return XDP_PASS;
	in = (void *)(icmp + 1);
	if ((void *)(in + 1) > end)
		goto malformed;
	if (in->ihl != 5 || (in->protocol != IPPROTO_TCP && in->protocol != IPPROTO_UDP))
		return XDP_PASS; /* inner options or another protocol: not ours to translate */
	ports = (__u16 *)(in + 1);
	if ((void *)(ports + 2) > end)
		goto malformed;

	__u32 k0 = 0;
	struct gw_config *cfg = bpf_map_lookup_elem(&gw_config, &k0);

	if (!cfg)
		return XDP_PASS;
	if ((flags & GW_DEST_SNAT) && in->saddr == cfg->snat_ip) {
		/* about a packet we sent a backend (snat:sp -> b:bp): back to the client, about d:dp <- c:cp */
		struct gw_rev_key rk = { .backend_ip = in->daddr, .backend_port = ports[1], .snat_port = ports[0], .proto = in->protocol };
		struct gw_rev *found = bpf_map_lookup_elem(&gw_rev, &rk);
		struct gw_rev rv;

		if (!found)
			return XDP_PASS;
		__builtin_memcpy(&rv, found, sizeof(rv));
		inner_rewrite(&icmp->checksum, in, ports, rv.client_ip, rv.dst_ip, rv.client_port, rv.dst_port);
		outer_rewrite(ip, rv.dst_ip, rv.client_ip);
		COUNT(icmp);
		return send_on(ctx, eth, ip, NULL);
	}
	if (flags & (GW_DEST_VIP | GW_DEST_NODE)) {
		/* about a reply we sent a client (d:dp -> c:cp): to the backend, about b:bp -> snat:sp */
		struct gw_ct_key k = { .client_ip = in->daddr, .dst_ip = in->saddr, .client_port = ports[1], .dst_port = ports[0],
				       .proto = in->protocol };
		struct gw_ct *found = bpf_map_lookup_elem(&gw_ct, &k);
		struct gw_ct ct;

		if (!found)
			return XDP_PASS;
		__builtin_memcpy(&ct, found, sizeof(ct));
		inner_rewrite(&icmp->checksum, in, ports, ct.backend_ip, cfg->snat_ip, ct.backend_port, ct.snat_port);
		outer_rewrite(ip, cfg->snat_ip, ct.backend_ip);
		COUNT(icmp);
		return send_on(ctx, eth, ip, NULL);
	}
	return XDP_PASS;
malformed:
	COUNT(malformed);
	return XDP_PASS;
}

/* ---- entry ---- */

static __always_inline int gateway(struct xdp_md *ctx, struct ethhdr *eth, struct iphdr *ip, void *end, __u32 flags)
{
	__u32 hl = ip->ihl * 4;
	void *l4p = (void *)ip + hl;
	struct l4 l;

	if (ip->version != 4 || hl < sizeof(*ip) || bpf_ntohs(ip->tot_len) < hl || (void *)ip + bpf_ntohs(ip->tot_len) > end) {
		COUNT(malformed);
		return XDP_PASS;
	}
	if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET)) {
		COUNT(fragments);
		return XDP_PASS;
	}
	if (ip->ttl <= 1) {
		COUNT(ttl);
		return XDP_PASS;
	}
	if (ip->protocol == IPPROTO_ICMP)
		return icmp_error(ctx, eth, ip, l4p, end, flags);
	if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	if (!l4_of(l4p, end, ip->protocol, &l)) {
		COUNT(malformed);
		return XDP_PASS;
	}
	if (flags & (GW_DEST_VIP | GW_DEST_NODE)) {
		int v = forward(ctx, eth, ip, &l, flags);

		if (v != NOT_OURS)
			return v;
	}
	if (flags & GW_DEST_SNAT)
		return reply(ctx, eth, ip, &l);
	return XDP_PASS;
}

SEC("xdp")
int gw_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__u32 *flags;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	if (!filter_hit(ip->daddr))
		return XDP_PASS;
	flags = bpf_map_lookup_elem(&gw_dests, &ip->daddr);
	if (!flags)
		return XDP_PASS;
	return gateway(ctx, eth, ip, end, *flags);
}

char LICENSE[] SEC("license") = "GPL";

/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Service load balancing at the socket: when an application calls connect()
 * (TCP, or UDP to connect a socket) or sendmsg() on an unconnected UDP
 * socket towards a service's VIP:port, the destination is rewritten to a
 * backend chosen here, so no packet ever carries the VIP and nothing is
 * translated per packet. recvmsg() and getpeername() show the application
 * the VIP:port again.
 *
 * Choice: the service's Maglev table (computed by the agent, swapped in
 * whole: lb_services names the table's range in the lb_maglev pool) indexed
 * by a random number, or for client affinity by a hash of the client's
 * network namespace and the service, after the affinity entry a previous
 * connection left (if younger than the timeout, of the same generation and
 * its backend still active). A service whose table is empty refuses at once
 * with ECONNREFUSED (bpf_set_retval, kernel >= 5.19).
 *
 * IPv4 services only (the wire's VIPs are IPv4), also as an AF_INET6 socket
 * reaches them: ::ffff:a.b.c.d (connect6, recvmsg6, getpeername6).
 *
 * Attached to one cgroup (the pods'), never to the root.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "lb.h"
#include "lb_tables.bpf.h"

#define ECONNREFUSED 111

LB_TABLE_MAPS(lb);

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LB_AFFINITY_DEFAULT_ENTRIES);
	__type(key, struct lb_affinity_key);
	__type(value, struct lb_affinity);
} lb_affinity SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LB_REVERSE_DEFAULT_ENTRIES);
	__type(key, struct lb_reverse_key);
	__type(value, struct lb_reverse);
} lb_reverse SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LB_MAX_SERVICES + 1);
	__type(key, __u32);
	__type(value, struct lb_svc_stats);
} lb_svc_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LB_MAX_BACKENDS + 1);
	__type(key, __u32);
	__type(value, struct lb_backend_stats);
} lb_backend_stats SEC(".maps");

/* Keeps the enums in the object's BTF (the agent's layout test reads them there). */
const volatile enum ek8s_lb_limits lb_limits_btf;
const volatile enum ek8s_lb_svc_flags lb_flags_btf;
const volatile enum ek8s_lb_backend_state lb_states_btf;

/* A network namespace and a service, hashed. */
static __always_inline __u32 affinity_hash(__u64 netns_cookie, __u32 service_id)
{
	return lb_hash64(netns_cookie, service_id);
}

LB_TABLE_READERS(lb)

/* The backend a client of `s` gets; 0 when none is usable. */
static __always_inline __u32 choose(struct bpf_sock_addr *ctx, const struct lb_svc *s, struct lb_backend *be)
{
	__u32 id;

	if (!(s->flags & LB_SVC_F_AFFINITY)) {
		id = table_slot(s, bpf_get_prandom_u32() % s->table_size);
		return backend_of(id, be) ? id : 0;
	}

	struct lb_affinity_key ak = { .netns_cookie = bpf_get_netns_cookie(ctx), .service_id = s->id };
	__u64 now = bpf_ktime_get_ns();
	struct lb_affinity *a = bpf_map_lookup_elem(&lb_affinity, &ak);

	if (a) {
		__u64 word = *(volatile __u64 *)a; /* backend_id and gen of one entry, never of two */
		__u32 aid = (__u32)word, agen = (__u32)(word >> 32);
		__u64 last = a->last_use_ns;

		if (agen == s->gen && now - last < (__u64)s->affinity_timeout_s * 1000000000ULL &&
		    backend_of(aid, be) && be->state == LB_BACKEND_ACTIVE) {
			a->last_use_ns = now;
			return aid;
		}
	}
	id = table_slot(s, affinity_hash(ak.netns_cookie, s->id) % s->table_size);
	if (!backend_of(id, be))
		return 0;
	struct lb_affinity nv = { .backend_id = id, .gen = s->gen, .last_use_ns = now };
	bpf_map_update_elem(&lb_affinity, &ak, &nv, BPF_ANY);
	return id;
}

static __always_inline void count_svc(__u32 id, bool refused)
{
	struct lb_svc_stats *st = bpf_map_lookup_elem(&lb_svc_stats, &id);

	if (!st)
		return;
	if (refused)
		__sync_fetch_and_add(&st->refused, 1);
	else
		__sync_fetch_and_add(&st->connections, 1);
}

static __always_inline void count_backend(__u32 id)
{
	struct lb_backend_stats *st = bpf_map_lookup_elem(&lb_backend_stats, &id);

	if (st)
		__sync_fetch_and_add(&st->connections, 1);
}

/* Remembers, for this socket, that the backend stands for the VIP (recvmsg, getpeername). */
static __always_inline void remember_vip(struct bpf_sock_addr *ctx, const struct lb_backend *be, const struct lb_svc_key *key)
{
	struct lb_reverse_key rk = { .cookie = bpf_get_socket_cookie(ctx), .ip = be->ip, .port = be->port };
	struct lb_reverse *old = bpf_map_lookup_elem(&lb_reverse, &rk);

	if (old && old->vip == key->vip && old->port == key->port)
		return; /* unconnected UDP: the same pair again, no write per datagram */
	struct lb_reverse rv = { .vip = key->vip, .port = key->port };
	bpf_map_update_elem(&lb_reverse, &rk, &rv, BPF_ANY);
}

#define LB_NOT_A_SERVICE -1
#define LB_REFUSED 0
#define LB_TRANSLATED 1

/* VIP:port to a backend (*be); counts and remembers the VIP for the reverse hooks. */
static __always_inline int translate(struct bpf_sock_addr *ctx, __be32 vip, struct lb_backend *be)
{
	__u32 proto = ctx->protocol;
	struct lb_svc_key key = {};
	struct lb_svc s;
	__u32 id;

	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return LB_NOT_A_SERVICE;
	key.vip = vip;
	key.port = (__be16)ctx->user_port;
	key.proto = proto;
	if (!service_of(&key, &s))
		return LB_NOT_A_SERVICE;
	id = s.table_size ? choose(ctx, &s, be) : 0;
	if (!id) {
		count_svc(s.id, true);
		bpf_set_retval(-ECONNREFUSED);
		return LB_REFUSED;
	}
	remember_vip(ctx, be, &key);
	count_svc(s.id, false);
	count_backend(id);
	return LB_TRANSLATED;
}

/* The VIP:port a backend stands for on this socket, if it does. */
static __always_inline bool reverse(struct bpf_sock_addr *ctx, __be32 ip, struct lb_reverse *out)
{
	struct lb_reverse_key rk = { .cookie = bpf_get_socket_cookie(ctx), .ip = ip, .port = (__be16)ctx->user_port };
	struct lb_reverse *rv = bpf_map_lookup_elem(&lb_reverse, &rk);

	if (!rv)
		return false;
	*(__u64 *)out = *(volatile __u64 *)rv;
	return true;
}

/*
 * IPv4 services seen from an AF_INET6 socket: ::ffff:a.b.c.d. (Unconnected
 * UDP to such an address goes through udp_sendmsg, so sendmsg4 sees it.)
 */
static __always_inline bool v4_mapped(const struct bpf_sock_addr *ctx, __be32 *ip)
{
	if (ctx->user_ip6[0] || ctx->user_ip6[1] || ctx->user_ip6[2] != bpf_htonl(0xffff))
		return false;
	*ip = ctx->user_ip6[3];
	return true;
}

static __always_inline int translate4(struct bpf_sock_addr *ctx)
{
	struct lb_backend be;
	int r = translate(ctx, ctx->user_ip4, &be);

	if (r == LB_TRANSLATED) {
		ctx->user_ip4 = be.ip;
		ctx->user_port = (__u32)be.port;
	}
	return r != LB_REFUSED;
}

SEC("cgroup/connect4")
int lb_connect4(struct bpf_sock_addr *ctx)
{
	return translate4(ctx);
}

SEC("cgroup/sendmsg4")
int lb_sendmsg4(struct bpf_sock_addr *ctx)
{
	return translate4(ctx);
}

static __always_inline int reverse4(struct bpf_sock_addr *ctx)
{
	struct lb_reverse r;

	if (reverse(ctx, ctx->user_ip4, &r)) {
		ctx->user_ip4 = r.vip;
		ctx->user_port = (__u32)r.port;
	}
	return 1;
}

SEC("cgroup/recvmsg4")
int lb_recvmsg4(struct bpf_sock_addr *ctx)
{
	return reverse4(ctx);
}

SEC("cgroup/getpeername4")
int lb_getpeername4(struct bpf_sock_addr *ctx)
{
	return reverse4(ctx);
}

SEC("cgroup/connect6")
int lb_connect6(struct bpf_sock_addr *ctx)
{
	struct lb_backend be;
	__be32 vip;
	int r;

	if (!v4_mapped(ctx, &vip))
		return 1;
	r = translate(ctx, vip, &be);
	if (r == LB_TRANSLATED) {
		ctx->user_ip6[3] = be.ip;
		ctx->user_port = (__u32)be.port;
	}
	return r != LB_REFUSED;
}

static __always_inline int reverse6(struct bpf_sock_addr *ctx)
{
	struct lb_reverse r;
	__be32 ip;

	if (v4_mapped(ctx, &ip) && reverse(ctx, ip, &r)) {
		ctx->user_ip6[3] = r.vip;
		ctx->user_port = (__u32)r.port;
	}
	return 1;
}

SEC("cgroup/recvmsg6")
int lb_recvmsg6(struct bpf_sock_addr *ctx)
{
	return reverse6(ctx);
}

SEC("cgroup/getpeername6")
int lb_getpeername6(struct bpf_sock_addr *ctx)
{
	return reverse6(ctx);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Socket acceleration of same-node traffic. A sockops program, attached to
 * the pods' cgroup (never the root), sees every TCP connection of those pods
 * become established, from both ends (client: ACTIVE_ESTABLISHED, server:
 * PASSIVE_ESTABLISHED; pods in different network namespaces on one node are
 * both under the cgroup). When both addresses are this node's pods
 * (accel_local, filled by the agent from its pod directory) and a rule opts
 * the connection in (accel_endpoints: the server's ip:port, the server pod's
 * ip with port 0, or the client pod's ip with port 0), the socket enters the
 * sockhash under its own 4-tuple. The sk_msg program, attached to the
 * sockhash, then hands each message a socket sends to its peer's receive
 * queue (bpf_msg_redirect_hash with BPF_F_INGRESS, the key being the 4-tuple
 * turned around), skipping both TCP stacks; anything it cannot pair goes the
 * normal way (SK_PASS).
 *
 * Connections to a service VIP that the socket load balancer (sock_lb)
 * translated at connect() are seen here with the backend's real address,
 * so they are accelerated like direct ones.
 *
 * A pass-through SK_SKB verdict program is attached to the sockhash too:
 * kernels with commit 929e30f93125 (6.6.128+, 6.12.75+, 6.18.14+) lose
 * receive wake-ups of sockets in a sockmap that has none, and a reader then
 * stalls on data that arrived the normal way (an Nginx upstream's large
 * response). With it, such data is queued to the socket's psock in order
 * with what was redirected.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "accel.h"

#define AF_INET 2
#define AF_INET6 10

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct accel_config);
} accel_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ACCEL_LOCAL_ENTRIES);
	__type(key, __be32);
	__type(value, __u32);
} accel_local SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ACCEL_ENDPOINT_ENTRIES);
	__type(key, struct accel_endpoint_key);
	__type(value, __u32); /* rule id */
} accel_endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, ACCEL_SOCK_ENTRIES);
	__type(key, struct accel_sock_key);
	__type(value, __u64);
} accel_sockets SEC(".maps");

/* Client sockets inserted whose server side has not been seen yet (its PASSIVE_ESTABLISHED comes next). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, ACCEL_SOCK_ENTRIES);
	__type(key, struct accel_sock_key);
	__type(value, __u32);
} accel_pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ACCEL_MAX_RULES + 1);
	__type(key, __u32);
	__type(value, struct accel_stats);
} accel_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct accel_sk);
} accel_sk SEC(".maps");

static __always_inline int enabled(void)
{
	__u32 zero = 0;
	struct accel_config *c = bpf_map_lookup_elem(&accel_config, &zero);
	return c && c->enabled;
}

static __always_inline __u32 endpoint_rule(__be32 ip, __u16 port)
{
	struct accel_endpoint_key k = { .ip = ip, .port = port };
	__u32 *r = bpf_map_lookup_elem(&accel_endpoints, &k);
	return r ? *r : 0;
}

/* The rule that opts the connection client -> server:port in, or 0. */
static __always_inline __u32 rule_of(__be32 client, __be32 server, __u16 port)
{
	__u32 r = endpoint_rule(server, port);
	if (!r)
		r = endpoint_rule(server, 0);
	if (!r)
		r = endpoint_rule(client, 0);
	return r;
}

static __always_inline struct accel_stats *stats_of(__u32 rule)
{
	if (rule > ACCEL_MAX_RULES)
		return 0;
	return bpf_map_lookup_elem(&accel_stats, &rule);
}

/*
 * A connection's IPv4 ends: an AF_INET socket's, or an AF_INET6 socket's
 * whose both addresses are IPv4-mapped (::ffff:a.b.c.d: what a dual-stack
 * server listening on [::] accepts from an IPv4 client, or an IPv6 socket
 * connected to ::ffff:a.b.c.d). Such a socket goes through the IPv4 path
 * and keeps its IPv4 addresses where an AF_INET socket does (local_ip4 and
 * remote_ip4 of bpf_sock_ops and sk_msg_md read them), so its key and its
 * peer's are the same 4-tuples as for AF_INET sockets.
 */
#define V4_MAPPED(a0, a1, a2) (!(a0) && !(a1) && (a2) == bpf_htonl(0xffff))

SEC("sockops")
int accel_sockops(struct bpf_sock_ops *skops)
{
	__u32 op = skops->op;
	if (op != BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB && op != BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
		return 1;
	__u32 family = skops->family;
	__be32 local_ip = skops->local_ip4, remote_ip = skops->remote_ip4;
	if (family == AF_INET6) {
		/* each field read on its own: the verifier refuses a pointer computed into the context */
		__u32 l0 = skops->local_ip6[0], l1 = skops->local_ip6[1], l2 = skops->local_ip6[2];
		__u32 r0 = skops->remote_ip6[0], r1 = skops->remote_ip6[1], r2 = skops->remote_ip6[2];
		if (!V4_MAPPED(l0, l1, l2) || !V4_MAPPED(r0, r1, r2))
			return 1;
		/* local_ip4/remote_ip4 (skc_rcv_saddr, skc_daddr) already hold the mapped addresses' IPv4 part */
	} else if (family != AF_INET) {
		return 1;
	}
	if (!enabled())
		return 1;
	struct accel_sock_key key = {
		.local_ip = local_ip,
		.remote_ip = remote_ip,
		.local_port = skops->local_port,
		.remote_port = bpf_ntohl(skops->remote_port),
	};
	if (!bpf_map_lookup_elem(&accel_local, &key.local_ip) || !bpf_map_lookup_elem(&accel_local, &key.remote_ip))
		return 1;
	int passive = op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB;
	__u32 rule = passive ? rule_of(key.remote_ip, key.local_ip, key.local_port)
			     : rule_of(key.local_ip, key.remote_ip, key.remote_port);
	if (!rule || rule > ACCEL_MAX_RULES)
		return 1;
	struct bpf_sock *sk = skops->sk;
	if (!sk)
		return 1;
	struct accel_sk *st = bpf_sk_storage_get(&accel_sk, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!st)
		return 1;
	st->rule = rule;
	if (bpf_sock_hash_update(skops, &accel_sockets, &key, BPF_ANY))
		return 1;
	if (!passive) {
		bpf_map_update_elem(&accel_pending, &key, &rule, BPF_ANY);
		return 1;
	}
	/* the client's socket entered at its ACTIVE_ESTABLISHED, which comes first: the pair is complete */
	struct accel_sock_key peer = {
		.local_ip = key.remote_ip,
		.remote_ip = key.local_ip,
		.local_port = key.remote_port,
		.remote_port = key.local_port,
	};
	if (bpf_map_lookup_elem(&accel_pending, &peer)) {
		bpf_map_delete_elem(&accel_pending, &peer);
		struct accel_stats *s = stats_of(rule);
		if (s)
			s->connections++;
	}
	return 1;
}

/*
 * Order within a direction holds as long as a socket never goes from the
 * normal way back to redirecting: what it sent over TCP may still be on its
 * way (or queued behind the peer's verdict program) when a redirected
 * message would land in the peer's queue ahead of it. So a socket that sent
 * one message the normal way (its peer not in the sockhash yet or any more,
 * or redirection switched off) sends every later one the normal way too.
 */
SEC("sk_msg")
int accel_msg(struct sk_msg_md *msg)
{
	struct accel_sk *st = 0;
	struct bpf_sock *sk = msg->sk;
	if (sk)
		st = bpf_sk_storage_get(&accel_sk, sk, 0, 0);
	if (!st)
		return SK_PASS;
	struct accel_stats *s = stats_of(st->rule);
	if (!st->plain && enabled()) {
		struct accel_sock_key peer = {
			.local_ip = msg->remote_ip4,
			.remote_ip = msg->local_ip4,
			.local_port = bpf_ntohl(msg->remote_port),
			.remote_port = msg->local_port,
		};
		__u32 size = msg->size;
		if (bpf_msg_redirect_hash(msg, &accel_sockets, &peer, BPF_F_INGRESS) == SK_PASS) {
			if (s) {
				s->bytes += size;
				s->msgs++;
			}
			return SK_PASS;
		}
	}
	st->plain = 1;
	if (s)
		s->passed++;
	return SK_PASS;
}

/* Pass-through: what arrives the normal way is queued to the socket itself (see the top). */
SEC("sk_skb") /* attached as BPF_SK_SKB_VERDICT by the agent (libbpf 1.1 knows no sk_skb/verdict section) */
int accel_skb(struct __sk_buff *skb)
{
	return SK_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

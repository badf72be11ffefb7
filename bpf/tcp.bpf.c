/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * TCP health from tracepoints: connections opened, failed (refused, timed
 * out), closed with their duration, retransmits, resets and smoothed RTT,
 * read with CO-RE from the socket, aggregated in the kernel per
 * (netns, local, remote, service port, role).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "tcp.h"
#include "addr.bpf.h"

#define AF_INET 2
#define AF_INET6 10
#define ECONNREFUSED 111
#define ETIMEDOUT 110

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TCP_DEFAULT_ENTRIES);
	__type(key, struct ek8s_tcp_key);
	__type(value, struct ek8s_tcp_stats);
} tcp_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TCP_SOCKS_DEFAULT_ENTRIES);
	__type(key, __u64);
	__type(value, struct ek8s_tcp_sock_info);
} tcp_socks SEC(".maps");

/* Entries inserted into tcp_stats: the agent derives the LRU's evictions from it. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} tcp_stats_created SEC(".maps");

/* Fills the key from the socket; role decides which port is the service. */
static __always_inline int key_of(const struct sock *sk, __u8 role, struct ek8s_tcp_key *k)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	if (family == AF_INET) {
		map_v4(k->laddr, BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr));
		map_v4(k->raddr, BPF_CORE_READ(sk, __sk_common.skc_daddr));
	} else if (family == AF_INET6) {
		BPF_CORE_READ_INTO(&k->laddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&k->raddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	} else {
		return -1;
	}
	k->netns_ino = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	k->role = role;
	/* Not skc_num: tcp_set_state(TCP_CLOSE) releases the bound port (inet_num = 0)
	 * before the tracepoint fires; inet_sport keeps it. */
	if (role == TCP_ROLE_SERVER)
		k->port = bpf_ntohs(BPF_CORE_READ((const struct inet_sock *)sk, inet_sport));
	else
		k->port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	return 0;
}

static __always_inline struct ek8s_tcp_stats *stats_for(const struct sock *sk, __u8 role)
{
	struct ek8s_tcp_key k = {};
	struct ek8s_tcp_stats *s;

	if (key_of(sk, role, &k) < 0)
		return NULL;
	s = bpf_map_lookup_elem(&tcp_stats, &k);
	if (s)
		return s;
	struct ek8s_tcp_stats zero = {};
	if (bpf_map_update_elem(&tcp_stats, &k, &zero, BPF_NOEXIST) == 0) {
		__u32 slot = 0;
		__u64 *created = bpf_map_lookup_elem(&tcp_stats_created, &slot);

		if (created)
			(*created)++;
	}
	return bpf_map_lookup_elem(&tcp_stats, &k);
}

static __always_inline __u8 role_of(const void *skaddr)
{
	__u64 key = (__u64)skaddr;
	struct ek8s_tcp_sock_info *info = bpf_map_lookup_elem(&tcp_socks, &key);

	return info ? info->role : TCP_ROLE_UNKNOWN;
}

/* The role of a socket that may not be established yet: one still in
 * SYN_SENT is a client (its SYN is being resent, or answered with a reset)
 * before tcp_socks knows it. */
static __always_inline __u8 role_now(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_state) == TCP_SYN_SENT ? TCP_ROLE_CLIENT : role_of(sk);
}

static __always_inline void sample_srtt(const struct sock *sk, struct ek8s_tcp_stats *s)
{
	__u32 srtt = BPF_CORE_READ((struct tcp_sock *)sk, srtt_us) >> 3;

	if (srtt) {
		__sync_fetch_and_add(&s->srtt_us_sum, srtt);
		__sync_fetch_and_add(&s->srtt_samples, 1);
	}
}

SEC("tracepoint/sock/inet_sock_set_state")
int tcp_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	const struct sock *sk = ctx->skaddr;
	int old = ctx->oldstate, new = ctx->newstate;
	__u64 key = (__u64)ctx->skaddr;
	struct ek8s_tcp_sock_info *info;
	struct ek8s_tcp_stats *s;

	if (ctx->protocol != IPPROTO_TCP)
		return 0;

	if (old == TCP_SYN_SENT && new == TCP_ESTABLISHED) {
		struct ek8s_tcp_sock_info ni = { .established_ns = bpf_ktime_get_ns(), .role = TCP_ROLE_CLIENT };

		bpf_map_update_elem(&tcp_socks, &key, &ni, BPF_ANY);
		s = stats_for(sk, TCP_ROLE_CLIENT);
		if (s)
			__sync_fetch_and_add(&s->opened, 1);
	} else if (old == TCP_SYN_RECV && new == TCP_ESTABLISHED) {
		struct ek8s_tcp_sock_info ni = { .established_ns = bpf_ktime_get_ns(), .role = TCP_ROLE_SERVER };

		bpf_map_update_elem(&tcp_socks, &key, &ni, BPF_ANY);
		s = stats_for(sk, TCP_ROLE_SERVER);
		if (s)
			__sync_fetch_and_add(&s->opened, 1);
	} else if (old == TCP_SYN_SENT && new == TCP_CLOSE) {
		int err = BPF_CORE_READ(sk, sk_err);

		s = stats_for(sk, TCP_ROLE_CLIENT);
		if (!s)
			return 0;
		if (err == ECONNREFUSED)
			__sync_fetch_and_add(&s->failed_refused, 1);
		else if (err == ETIMEDOUT)
			__sync_fetch_and_add(&s->failed_timeout, 1);
		else
			__sync_fetch_and_add(&s->failed_other, 1);
	} else if (new == TCP_CLOSE && old != TCP_LISTEN && old != TCP_SYN_RECV) {
		info = bpf_map_lookup_elem(&tcp_socks, &key);
		s = stats_for(sk, info ? info->role : TCP_ROLE_UNKNOWN);
		if (s) {
			__sync_fetch_and_add(&s->closed, 1);
			if (info)
				__sync_fetch_and_add(&s->duration_ns, bpf_ktime_get_ns() - info->established_ns);
			sample_srtt(sk, s);
		}
		/* The socket's role stays until it is destroyed (tcp_destroy):
		 * the reset of an abortive close (SO_LINGER 0, data left unread)
		 * is sent after this transition and belongs to the same row. */
	}
	return 0;
}

SEC("tracepoint/tcp/tcp_destroy_sock")
int tcp_destroy(struct trace_event_raw_tcp_event_sk *ctx)
{
	__u64 key = (__u64)ctx->skaddr;

	bpf_map_delete_elem(&tcp_socks, &key);
	return 0;
}

SEC("tracepoint/tcp/tcp_retransmit_skb")
int tcp_retransmit(struct trace_event_raw_tcp_retransmit_skb *ctx)
{
	const struct sock *sk = ctx->skaddr;
	struct ek8s_tcp_stats *s;

	if (!sk)
		return 0;
	/* Newer kernels fire this for failed attempts too (err, e.g. -EBUSY while
	 * the original still sits in a queue): count what was sent, as the
	 * kernel's TcpRetransSegs does. */
	if (bpf_core_field_exists(ctx->err) && ctx->err)
		return 0;
	s = stats_for(sk, role_now(sk));
	if (s) {
		__sync_fetch_and_add(&s->retransmits, 1);
		sample_srtt(sk, s);
	}
	return 0;
}

SEC("tracepoint/tcp/tcp_receive_reset")
int tcp_rst_rx(struct trace_event_raw_tcp_event_sk *ctx)
{
	const struct sock *sk = ctx->skaddr;
	struct ek8s_tcp_stats *s;

	if (!sk)
		return 0;
	s = stats_for(sk, role_now(sk));
	if (s)
		__sync_fetch_and_add(&s->resets_rx, 1);
	return 0;
}

SEC("tracepoint/tcp/tcp_send_reset")
int tcp_rst_tx(struct trace_event_raw_tcp_send_reset *ctx)
{
	const struct sock *sk = ctx->skaddr;
	struct ek8s_tcp_stats *s;

	/* Without a socket (e.g. a SYN to a closed port) there is no local pod to
	 * charge here; the client's side counts that as a refused connection. */
	if (!sk)
		return 0;
	s = stats_for(sk, role_now(sk));
	if (s)
		__sync_fetch_and_add(&s->resets_tx, 1);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

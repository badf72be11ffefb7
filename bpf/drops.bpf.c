/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Drops from skb:kfree_skb, with the kernel's reason, per network namespace
 * and device: enough to charge each drop to a pod (its netns, or its host
 * veth) and an interface; and per service, when the dropped packet's
 * destination (else its source: a backend's reply) is one of a service's
 * frontends or backends. Per-CPU values, so no atomics on the drop path.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "drops.h"
#include "lb.h"

#define ETH_P_IP 0x0800
#define IP_OFFSET_MASK 0x1fff

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, DROPS_DEFAULT_ENTRIES);
	__type(key, struct drop_key);
	__type(value, struct drop_value);
} drops SEC(".maps");

/* Drops that did not fit the table: reported, never silent. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drops_overflow SEC(".maps");

/*
 * A service's frontends and backends (the agent writes them from the services
 * it follows). Not preallocated: a node with few services holds few entries.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, DROP_ENDPOINTS_DEFAULT_ENTRIES);
	__type(key, struct lb_svc_key);
	__type(value, __u32);
} drop_endpoints SEC(".maps");

/*
 * The service of an IPv4 TCP or UDP packet: its destination's, else its
 * source's; 0 when neither is a service's endpoint, or the packet has no IPv4
 * header yet (a drop before the IP layer set it: the network header offset is
 * still 0, where the buffer's headroom starts), no ports (a later fragment),
 * or its linear data ends before them. The headers are read from the skb's
 * buffer, wherever its data pointer stands.
 */
static __always_inline __u32 drop_service(struct sk_buff *skb)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u32 nh = BPF_CORE_READ(skb, network_header);
	__u32 tail = BPF_CORE_READ(skb, tail); /* an offset from head on 64-bit kernels */
	struct lb_svc_key k = {};
	struct iphdr ip;
	__be16 ports[2];
	__u32 *id;

	if (BPF_CORE_READ(skb, protocol) != bpf_htons(ETH_P_IP) || nh == 0 || nh == (__u16)~0U ||
	    nh + sizeof(ip) > tail)
		return 0;
	if (bpf_probe_read_kernel(&ip, sizeof(ip), head + nh) || ip.version != 4 || ip.ihl < 5)
		return 0;
	if ((ip.protocol != IPPROTO_TCP && ip.protocol != IPPROTO_UDP) || (ip.frag_off & bpf_htons(IP_OFFSET_MASK)))
		return 0;
	if (nh + ip.ihl * 4 + sizeof(ports) > tail)
		return 0;
	if (bpf_probe_read_kernel(ports, sizeof(ports), head + nh + ip.ihl * 4))
		return 0;
	k.proto = ip.protocol;
	k.vip = ip.daddr;
	k.port = ports[1];
	id = bpf_map_lookup_elem(&drop_endpoints, &k);
	if (id)
		return *id;
	k.vip = ip.saddr;
	k.port = ports[0];
	id = bpf_map_lookup_elem(&drop_endpoints, &k);
	return id ? *id : 0;
}

SEC("tracepoint/skb/kfree_skb")
int drops_kfree_skb(struct trace_event_raw_kfree_skb *ctx)
{
	struct sk_buff *skb = ctx->skbaddr;
	struct net_device *dev = BPF_CORE_READ(skb, dev);
	struct drop_key key = {};
	struct drop_value *v;
	__u32 reason = ctx->reason;

	/* Not drops: kernels before consume_skb got its own reason path report these here. */
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_CONSUMED) &&
	    reason == bpf_core_enum_value(enum skb_drop_reason, SKB_CONSUMED))
		return 0;
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_NOT_DROPPED_YET) &&
	    reason == bpf_core_enum_value(enum skb_drop_reason, SKB_NOT_DROPPED_YET))
		return 0;

	key.reason = reason;
	key.service = drop_service(skb);
	if (dev) {
		key.ifindex = BPF_CORE_READ(dev, ifindex);
		key.netns_ino = BPF_CORE_READ(dev, nd_net.net, ns.inum);
	} else {
		struct sock *sk = BPF_CORE_READ(skb, sk);

		if (sk)
			key.netns_ino = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	}
	v = bpf_map_lookup_elem(&drops, &key);
	if (!v) {
		struct drop_value zero = {};

		if (bpf_map_update_elem(&drops, &key, &zero, BPF_NOEXIST) && bpf_map_lookup_elem(&drops, &key) == NULL) {
			__u32 slot = 0;
			__u64 *o = bpf_map_lookup_elem(&drops_overflow, &slot);

			if (o)
				(*o)++;
			return 0;
		}
		v = bpf_map_lookup_elem(&drops, &key);
		if (!v)
			return 0;
	}
	v->packets++;
	v->bytes += BPF_CORE_READ(skb, len);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

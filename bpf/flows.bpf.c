/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Flows and per-pod RX/TX at tc (clsact ingress and egress) on pod veths and
 * chosen host interfaces. Aggregation stays in the kernel: one LRU entry per
 * (5-tuple, direction, interface) updated in place; the agent reads deltas on
 * its timer. The table's size is fixed at load time, so memory never grows
 * with traffic; entries the LRU evicts are counted by the agent from
 * FLOW_STAT_CREATED (inserted) minus what it still sees and what it removed.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "flows.h"
#include "if_counters.bpf.h"
#include "packet.bpf.h"

#define TC_ACT_UNSPEC (-1)

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FLOWS_DEFAULT_ENTRIES);
	__type(key, struct flow_key);
	__type(value, struct flow_value);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLOW_STAT_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} flow_stats SEC(".maps");

static __always_inline void stat_inc(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&flow_stats, &slot);

	if (v)
		(*v)++;
}

static __always_inline void count_flow(struct __sk_buff *skb, __u8 dir)
{
	struct flow_key key = {};
	struct parsed p = { .saddr = key.saddr, .daddr = key.daddr, .sport = &key.sport, .dport = &key.dport, .proto = &key.proto };
	struct flow_value *v;
	__u64 flags;

	if (parse_frame(skb, &p) < 0) {
		stat_inc(FLOW_STAT_NON_IP);
		return;
	}
	flags = p.tcp_flags;
	if ((flags & 0x12) == 0x02) /* SYN without ACK: the sender is the client */
		flags |= FLOW_FLAG_SYN_ONLY;
	key.dir = dir;
	key.ifindex = skb->ifindex;

	v = bpf_map_lookup_elem(&flows, &key);
	if (v) {
		/* Atomic: the same flow can be updated on two CPUs at once. */
		__sync_fetch_and_add(&v->packets, 1);
		__sync_fetch_and_add(&v->bytes, skb->len);
		if ((v->tcp_flags | flags) != v->tcp_flags)
			__sync_fetch_and_or(&v->tcp_flags, flags);
		return;
	}
	struct flow_value nv = {
		.packets = 1, .bytes = skb->len, .first_seen_ns = bpf_ktime_get_ns(), .tcp_flags = flags,
	};
	/* BPF_NOEXIST: if another CPU inserted it meanwhile, add to that entry instead. */
	if (bpf_map_update_elem(&flows, &key, &nv, BPF_NOEXIST) == 0) {
		stat_inc(FLOW_STAT_CREATED);
		return;
	}
	v = bpf_map_lookup_elem(&flows, &key);
	if (!v) {
		stat_inc(FLOW_STAT_CREATE_FAILED);
		return;
	}
	__sync_fetch_and_add(&v->packets, 1);
	__sync_fetch_and_add(&v->bytes, skb->len);
	__sync_fetch_and_or(&v->tcp_flags, flags);
}

SEC("tc")
int flows_ingress(struct __sk_buff *skb)
{
	count_rx(skb->ifindex, skb->len);
	count_flow(skb, FLOW_DIR_INGRESS);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int flows_egress(struct __sk_buff *skb)
{
	count_tx(skb->ifindex, skb->len);
	count_flow(skb, FLOW_DIR_EGRESS);
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

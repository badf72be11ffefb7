/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The baseline for benchmarks: a tc program that does nothing. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("tc")
int empty_tc(struct __sk_buff *skb)
{
	return -1; /* TC_ACT_UNSPEC */
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

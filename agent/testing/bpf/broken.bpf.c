/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Test-only: the verifier must reject this: it reads packet data without
 * checking it against data_end. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("tc")
int broken_read(struct __sk_buff *skb)
{
	__u8 *data = (__u8 *)(long)skb->data;

	return data[20]; /* no bounds check */
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from "vitest";
import { protocolKeyword, protoName, tcpFlagList, tcpFlagNames } from "./names.ts";

describe("names", () => {
  it("protocols: display names for people, keywords or numbers for the API", () => {
    expect([1, 6, 17, 58, 132, 47].map(protoName)).toEqual(["ICMP", "TCP", "UDP", "ICMPv6", "SCTP", "proto 47"]);
    expect([1, 6, 17, 58, 132, 47].map(protocolKeyword)).toEqual(["icmp", "tcp", "udp", "58", "132", "47"]);
  });

  it("TCP flags, lowest bit first", () => {
    expect(tcpFlagList(0x13)).toEqual(["FIN", "SYN", "ACK"]);
    expect(tcpFlagList(0)).toEqual([]);
    expect(tcpFlagNames(0xff)).toBe("FIN SYN RST PSH ACK URG ECE CWR");
  });
});

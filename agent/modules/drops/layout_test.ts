// SPDX-License-Identifier: Apache-2.0
import { assertStructLayout } from "../../testing/btf-layout.ts";
import { kernelTest, OBJECTS } from "../../testing/kernel.ts";
import { DROP_KEY_FIELDS, DROP_KEY_SIZE, DROP_VALUE_FIELDS, DROP_VALUE_SIZE } from "./layout.ts";

kernelTest("struct drop_key and drop_value match the C header", { needs: ["objects"] }, async () => {
  const obj = OBJECTS.ifstats.replace("ifstats.bpf.o", "drops.bpf.o");
  await assertStructLayout(obj, "drop_key", DROP_KEY_FIELDS, DROP_KEY_SIZE);
  await assertStructLayout(obj, "drop_value", DROP_VALUE_FIELDS, DROP_VALUE_SIZE);
});

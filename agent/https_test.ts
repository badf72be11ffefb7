// SPDX-License-Identifier: Apache-2.0
/**
 * HTTPS between the agent and the control plane: the real control plane (control/main.ts under Deno) serving
 * a certificate of a throwaway CA (EBPF_K8S_TLS_CERT/KEY), and the agent's client trusting that CA
 * (--control-ca): a join and the wire-version call go through; without the CA the certificate is refused (a
 * retry naming the failure), and a plain-http client cannot talk to it. Bad files are refused at start, named.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes, assertThrows } from "./testing/assert.ts";
import { ConfigError, parseConfig } from "./config.ts";
import { ControlApi } from "./control_api.ts";
import { controlClient } from "./control_client.ts";
import { ControlProcess } from "./testing/control_process.ts";
import { run } from "./testing/run.ts";
import { withTempDir } from "./testing/temp.ts";

const TEST_CA = new URL("../scripts/testing/test-ca.sh", import.meta.url).pathname;

Deno.test("https: an agent trusting the control plane's CA joins; one without it is refused the certificate", async () => {
  await withTempDir("ek8s-https-", async (dir) => {
    await run(["sh", TEST_CA, dir]);
    const ca = await Deno.readTextFile(`${dir}/ca.pem`);
    const control = await ControlProcess.start(
      { EBPF_K8S_TLS_CERT: `${dir}/server.pem`, EBPF_K8S_TLS_KEY: `${dir}/server.key` },
      ca,
    );
    const client = controlClient(`${dir}/ca.pem`)!;
    try {
      assert(control.url.startsWith("https://127.0.0.1:"), control.url);
      const token = await control.joinToken();
      const api = new ControlApi(control.url, undefined, undefined, { client });
      const joined = await api.join(token, "https-node");
      assertEquals(joined.kind, "ok", JSON.stringify(joined));
      assertEquals(joined.kind === "ok" && joined.value.node, "https-node");
      assertEquals((await api.wireVersions()).kind, "ok");

      const untrusted = await new ControlApi(control.url).join(token, "https-node-2");
      assertEquals(untrusted.kind, "retry");
      assertStringIncludes(untrusted.kind === "retry" ? untrusted.message.toLowerCase() : "", "certificate");
      const plain = await new ControlApi(control.url.replace("https:", "http:")).wireVersions();
      assertEquals(plain.kind, "retry", "plain http to an https port gets no answer it can read");
    } catch (e) {
      (e as Error).message += `\n--- control plane output ---\n${control.output}`;
      throw e;
    } finally {
      client.close();
      await control.stop();
    }
  });
});

Deno.test("https: the control plane refuses to start on a certificate file it cannot read, naming the variable", async () => {
  await withTempDir("ek8s-https-", async (dir) => {
    await Deno.writeTextFile(`${dir}/key.pem`, "not a key");
    await assertRejects(
      () => ControlProcess.start({ EBPF_K8S_TLS_CERT: `${dir}/missing.pem`, EBPF_K8S_TLS_KEY: `${dir}/key.pem` }),
      Error,
      `EBPF_K8S_TLS_CERT: cannot read ${dir}/missing.pem`,
    );
  });
});

Deno.test("--control-ca: only with an https control plane; an unreadable or non-PEM file is a configuration error", async () => {
  const base = ["--control", "http://127.0.0.1:1", "--node", "n1", "--control-ca", "/etc/ssl/certs/ca.pem"];
  assertThrows(() => parseConfig(base, () => undefined), ConfigError, "--control-ca: is for an https:// control plane");
  await withTempDir("ek8s-https-", async (dir) => {
    assertThrows(() => controlClient(`${dir}/none.pem`), ConfigError, `--control-ca: cannot read ${dir}/none.pem`);
    await Deno.writeTextFile(`${dir}/bad.pem`, "hello");
    assertThrows(() => controlClient(`${dir}/bad.pem`), ConfigError, "holds no PEM certificate");
  });
});

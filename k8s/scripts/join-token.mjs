// SPDX-License-Identifier: Apache-2.0
/**
 * The agents' join token as k8s/scripts/install.sh keeps it (docs/nodes.md). install.sh runs this file with node
 * inside the control plane's pod (`node --input-type=module -e <this file + a call of main>`): its own Node, the
 * admin token from its environment, the control plane on 127.0.0.1. Commands, each printing one line:
 *   ensure <id>          "keep" when the token <id> (the Secret's join-token-id) is live and never expires;
 *                        otherwise as rotate (a first install, or a Secret from before tokens that never expire)
 *   rotate               a new join token that never expires: "new <id> <token>"
 *   revoke-others <id>   revokes every live token the install made (by its description) but <id>: "revoked <n>"
 * The DaemonSet's token never expires so that nodes added any time later (autoscaling) can join; it is rotated
 * instead: a new one in the Secret first, then the old one revoked. Joined nodes keep their own credentials, so
 * revoking the old token cuts no node off. Plain JavaScript: the control image runs Node 20 without a build step.
 */

/** How the install's tokens are told from an admin's own. */
export const INSTALL_DESCRIPTION = "kubernetes agents (install.sh)";
const DEFAULT_BASE = "http://127.0.0.1:8080";

/**
 * Runs one command; answers its line. `env` gives EBPF_K8S_ADMIN_TOKEN (and EBPF_K8S_URL, for tests: the control
 * plane's address); `fetch` is the platform's.
 * @param {string[]} args
 * @param {Record<string, string | undefined>} env
 * @param {typeof fetch} fetchImpl
 * @returns {Promise<string>}
 */
export async function joinTokenCommand(args, env, fetchImpl) {
  const [command, id = ""] = args;
  const admin = env.EBPF_K8S_ADMIN_TOKEN;
  if (!admin) throw new Error("EBPF_K8S_ADMIN_TOKEN is not set in the control plane's environment");
  const base = env.EBPF_K8S_URL || DEFAULT_BASE;
  /** @param {string} method @param {string} path @param {unknown} [body] */
  const call = async (method, path, body) => {
    const res = await fetchImpl(`${base}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} /api/v1${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const rotate = async () => {
    const made = await call("POST", "/join-tokens", { expires: "never", description: INSTALL_DESCRIPTION });
    return `new ${made.id} ${made.token}`;
  };

  switch (command) {
    case "ensure": {
      /** @type {Array<{ id: string; expiresAt: string | null; revoked: boolean }>} */
      const tokens = await call("GET", "/join-tokens");
      const current = tokens.find((t) => t.id === id);
      return current !== undefined && !current.revoked && current.expiresAt === null ? "keep" : await rotate();
    }
    case "rotate":
      return await rotate();
    case "revoke-others": {
      if (!/^[0-9a-f]{16}$/.test(id)) throw new Error(`revoke-others needs the id of the token to keep, not '${id}'`);
      /** @type {Array<{ id: string; description: string | null; revoked: boolean }>} */
      const tokens = await call("GET", "/join-tokens");
      const old = tokens.filter((t) => t.description === INSTALL_DESCRIPTION && !t.revoked && t.id !== id);
      for (const t of old) await call("DELETE", `/join-tokens/${t.id}`);
      return `revoked ${old.length}`;
    }
    default:
      throw new Error(`unknown command '${command ?? ""}' (ensure <id> | rotate | revoke-others <id>)`);
  }
}

/**
 * The command line: prints the answer, or the error and exits 1.
 * @param {string[]} args
 * @param {Record<string, string | undefined>} env
 * @param {typeof fetch} fetchImpl
 */
export async function main(args, env, fetchImpl) {
  try {
    console.log(await joinTokenCommand(args, env, fetchImpl));
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  }
}

// SPDX-License-Identifier: Apache-2.0
/**
 * `/login`: a browser presents the admin token (to switch modules) or the
 * read token (to look, when reads are protected) once; the answer stores it
 * in an HttpOnly cookie for later requests.
 */
import { Layout, type Session } from "../components/layout.tsx";

export function LoginPage(props: { next: string; session: Session; error?: string; readAuth: "open" | "token" }) {
  return (
    <Layout title="Log in" session={props.session}>
      <section class="panel login">
        {props.session.role !== null && (
          <p>You are logged in {props.session.role === "admin" ? "as admin" : "with the read token"}.</p>
        )}
        {props.error && (
          <p class="error-text" role="alert">
            {props.error}
          </p>
        )}
        <form method="post" action="/login">
          <input type="hidden" name="next" value={props.next} />
          <label>
            Token
            <input type="password" name="token" autocomplete="current-password" required autofocus />
          </label>
          <button type="submit">Log in</button>
        </form>
        <p class="note">
          The admin token was printed once when this control plane first started with an empty database (or is the value
          of EBPF_K8S_ADMIN_TOKEN). It allows switching modules. {props.readAuth === "token"
            ? "Reading needs the admin token or the read token (EBPF_K8S_READ_TOKEN)."
            : "Reading needs no token on this server."}
        </p>
      </section>
    </Layout>
  );
}

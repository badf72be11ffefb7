// SPDX-License-Identifier: Apache-2.0
/** A card with a heading and, beside it, a short line of numbers or context. */
import type { Child } from "hono/jsx";

export function Panel(props: { title: string; meta?: Child; id?: string; children: Child }) {
  return (
    <section class="panel" id={props.id}>
      <h3>
        {props.title}
        {props.meta !== undefined && <span class="meta">{props.meta}</span>}
      </h3>
      {props.children}
    </section>
  );
}

/** The HTML shell every page shares: local stylesheet and htmx, page header. */
import type { Child } from "hono/jsx";
import { raw } from "hono/html";
import { assetPath, HTMX_ASSET, STYLE_ASSET } from "../assets.ts";

export function Layout(props: { title: string; hint?: string; children: Child }) {
  return (
    <>
      {raw("<!doctype html>")}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>{props.title} · ebpf-k8s</title>
          <link rel="stylesheet" href={assetPath(STYLE_ASSET)} />
          <script src={assetPath(HTMX_ASSET)} defer></script>
        </head>
        <body>
          <header class="top">
            <h1>ebpf-k8s · {props.title}</h1>
            {props.hint && <span class="hint">{props.hint}</span>}
          </header>
          <main>{props.children}</main>
        </body>
      </html>
    </>
  );
}

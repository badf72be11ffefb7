// SPDX-License-Identifier: Apache-2.0
/**
 * Static files the pages need, read once when the app is created and then
 * served from memory: htmx, its SSE extension and uPlot from node_modules (no CDN), our
 * stylesheet, the script that draws the charts, and the icon.
 *
 * Paths are resolved from this module, not the working directory. node:fs
 * works under Node and, through its Node compatibility layer, under Deno.
 */
import { readFileSync } from "node:fs";

export interface Asset {
  body: string;
  contentType: string;
}

/** File name (as served under /assets/) → content. */
export type Assets = ReadonlyMap<string, Asset>;

export const ASSET_PREFIX = "/assets/";
export const HTMX_ASSET = "htmx.min.js";
/** htmx's server-sent events extension (the /flows page's live mode), from its npm package like htmx. */
export const HTMX_SSE_ASSET = "htmx-ext-sse.min.js";
export const STYLE_ASSET = "style.css";
export const UPLOT_ASSET = "uPlot.iife.min.js";
export const UPLOT_STYLE_ASSET = "uPlot.min.css";
export const CHARTS_ASSET = "charts.js";
/** Every page: times in the browser's zone, and scroll regions that keep their place across refreshes. */
export const LOCAL_TIME_ASSET = "local-time.js";
export const KEEP_SCROLL_ASSET = "keep-scroll.js";
export const ICON_ASSET = "icon.svg";
/** Where browsers ask for an icon on their own, whatever the page links; served the same icon (web/routes.tsx). */
export const FAVICON_PATH = "/favicon.ico";

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";
const SVG = "image/svg+xml; charset=utf-8";

const SOURCES: Record<string, { url: URL; contentType: string }> = {
  [HTMX_ASSET]: { url: new URL("../node_modules/htmx.org/dist/htmx.min.js", import.meta.url), contentType: JS },
  [HTMX_SSE_ASSET]: {
    url: new URL("../node_modules/htmx-ext-sse/dist/sse.min.js", import.meta.url),
    contentType: JS,
  },
  [STYLE_ASSET]: { url: new URL("./assets/style.css", import.meta.url), contentType: CSS },
  [UPLOT_ASSET]: { url: new URL("../node_modules/uplot/dist/uPlot.iife.min.js", import.meta.url), contentType: JS },
  [UPLOT_STYLE_ASSET]: { url: new URL("../node_modules/uplot/dist/uPlot.min.css", import.meta.url), contentType: CSS },
  [CHARTS_ASSET]: { url: new URL("./assets/charts.js", import.meta.url), contentType: JS },
  [LOCAL_TIME_ASSET]: { url: new URL("./assets/local-time.js", import.meta.url), contentType: JS },
  [KEEP_SCROLL_ASSET]: { url: new URL("./assets/keep-scroll.js", import.meta.url), contentType: JS },
  [ICON_ASSET]: { url: new URL("./assets/icon.svg", import.meta.url), contentType: SVG },
};

export function loadAssets(): Assets {
  return new Map(
    Object.entries(SOURCES).map(([name, { url, contentType }]) => [
      name,
      { body: readFileSync(url, "utf8"), contentType },
    ]),
  );
}

export function assetPath(name: string): string {
  return ASSET_PREFIX + name;
}

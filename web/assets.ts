/**
 * Static files the pages need, read once when the app is created and then
 * served from memory: htmx from node_modules (no CDN) and our stylesheet.
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
export const STYLE_ASSET = "style.css";

const SOURCES: Record<string, { url: URL; contentType: string }> = {
  [HTMX_ASSET]: {
    url: new URL("../node_modules/htmx.org/dist/htmx.min.js", import.meta.url),
    contentType: "text/javascript; charset=utf-8",
  },
  [STYLE_ASSET]: {
    url: new URL("./assets/style.css", import.meta.url),
    contentType: "text/css; charset=utf-8",
  },
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

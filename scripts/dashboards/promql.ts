// SPDX-License-Identifier: Apache-2.0
/**
 * PromQL pieces the dashboards share. The control plane's cluster families are read from the database, so every
 * replica answers the same: a max by their own labels counts them once however many replicas are scraped. The
 * agent's families come from one process per node, and the ingest load from one per replica (by instance).
 */

/** A range of rate(): Grafana's, at least four scrapes. */
export const RATE = "$__rate_interval";

/** A control-plane cluster family (or its rate), once whatever the number of replicas scraped. */
export const once = (by: string, expr: string) => `max by (${by}) (${expr})`;

export const rate = (series: string) => `rate(${series}[${RATE}])`;

/** A selector of one label matching a multi-value variable ($node, $service…). */
export const pick = (label: string, variable = label) => `${label}=~"$${variable}"`;

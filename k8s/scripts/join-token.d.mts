// SPDX-License-Identifier: Apache-2.0
/** Types of join-token.mjs (plain JavaScript, run by Node 20 in the control plane's pod), for its tests. */
export declare const INSTALL_DESCRIPTION: string;
export declare function joinTokenCommand(
  args: string[],
  env: Record<string, string | undefined>,
  fetchImpl: typeof fetch,
): Promise<string>;
export declare function main(
  args: string[],
  env: Record<string, string | undefined>,
  fetchImpl: typeof fetch,
): Promise<void>;

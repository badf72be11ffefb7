// SPDX-License-Identifier: Apache-2.0
/** Path parameters shared by the node routes of the API and the pages. */
import { z } from "zod";
import { ModuleName, NodeName } from "../wire/batch.ts";

export const NodeParams = z.object({ node: NodeName });
export const NodeModuleParams = z.object({ node: NodeName, module: ModuleName });

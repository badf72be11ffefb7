// SPDX-License-Identifier: Apache-2.0
/**
 * `/api`: the API reference, rendered on the server from the OpenAPI
 * document that GET /api/v1/openapi.json serves (control/openapi/): per
 * group, each operation with its access, parameters, body and answers;
 * then each named schema (the document's components) with its members.
 */
import { OPENAPI_PATH } from "../../control/openapi/document.ts";
import { Layout, type Session } from "../components/layout.tsx";
import { Panel } from "../components/panel.tsx";

export const API_PAGE_PATH = "/api";

type Schema = Record<string, unknown>;
interface Parameter {
  name: string;
  in: string;
  required: boolean;
  description?: string;
  schema: Schema;
}
export interface DocOperation {
  operationId: string;
  tags: string[];
  summary: string;
  description?: string;
  security: Record<string, string[]>[];
  parameters?: Parameter[];
  requestBody?: { content: Record<string, unknown> };
  responses: Record<string, { description: string; content?: Record<string, unknown> }>;
}
export interface ApiDocument {
  info: { title: string; version: string; description?: string };
  tags: { name: string }[];
  paths: Record<string, Record<string, DocOperation>>;
  components: { schemas: Record<string, Schema> };
}

/** Who may call, from the operation's security requirements (control/openapi/document.ts SECURITY). */
function access(security: DocOperation["security"]): string {
  if (security.length === 0) return "anyone";
  if (security.some((s) => Object.keys(s).length === 0)) return "reader (open unless read auth is on)";
  const schemes = security.flatMap((s) => Object.keys(s));
  if (schemes.includes("nodeCredential")) return "agent (node credential)";
  return "admin token";
}

/** A schema in a few words: `"a" | "b"`, `string (pattern …)`, `array of Flow` (a component by its name). */
export function typeOf(schema: Schema): string {
  if (typeof schema.$ref === "string") return schema.$ref.slice(schema.$ref.lastIndexOf("/") + 1);
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  if ("const" in schema) return JSON.stringify(schema.const);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(alternatives)) return alternatives.map((a) => typeOf(a as Schema)).join(" | ");
  if (Array.isArray(schema.type)) return schema.type.map((type) => typeOf({ ...schema, type })).join(" | ");
  const type = typeof schema.type === "string" ? schema.type : "any";
  if (type === "array" && typeof schema.items === "object") return `array of ${typeOf(schema.items as Schema)}`;
  // A format says it in a word (date-time); a pattern only where there is none.
  const detail = schema.format ?? (schema.pattern && `pattern ${schema.pattern}`);
  return detail && type === "string" ? `${type} (${detail})` : type;
}

/** A description's `code` spans (OpenAPI descriptions are CommonMark; these are all they use) as code. */
export function Described(props: { text: string }) {
  return <>{props.text.split("`").map((part, i) => (i % 2 === 1 ? <code>{part}</code> : part))}</>;
}

/** The JSON schema of a body, if it has one. */
function schemaOf(content: Record<string, unknown> | undefined): Schema | undefined {
  return (content?.["application/json"] as { schema?: Schema } | undefined)?.schema;
}

/** A component: its members with their types, or what it is one of. */
function SchemaPanel(props: { name: string; schema: Schema }) {
  const { name, schema } = props;
  const properties = Object.entries((schema.properties ?? {}) as Record<string, Schema>);
  const required = new Set((schema.required ?? []) as string[]);
  return (
    <Panel title={name} id={`schema-${name}`}>
      {properties.length === 0
        ? (
          <p>
            <code>{typeOf(schema)}</code>
          </p>
        )
        : (
          <table class="api members">
            <tbody>
              {properties.map(([member, s]) => (
                <tr>
                  <td>
                    <code>{member}</code>
                    {!required.has(member) && <span class="muted">{" (optional)"}</span>}
                  </td>
                  <td>
                    {typeOf(s)}
                    {typeof s.description === "string" && <span class="muted">{` — ${s.description}`}</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
    </Panel>
  );
}

function Parameters(props: { op: DocOperation }) {
  const params = props.op.parameters ?? [];
  const body = props.op.requestBody && Object.keys(props.op.requestBody.content);
  if (params.length === 0 && !body) return <span class="muted">none</span>;
  return (
    <ul class="api-list">
      {params.map((p) => (
        <li>
          <code>{p.name}</code> <span class="muted">({p.in}{p.required ? ", required" : ""})</span>: {typeOf(p.schema)}
          {p.description && (
            <>
              {" "}
              <Described text={p.description} />
            </>
          )}
        </li>
      ))}
      {body && (
        <li>
          body: {schemaOf(props.op.requestBody!.content) && `${typeOf(schemaOf(props.op.requestBody!.content)!)} `}
          <span class="muted">({body.join(", ")})</span>
        </li>
      )}
    </ul>
  );
}

function Responses(props: { op: DocOperation }) {
  return (
    <ul class="api-list">
      {Object.entries(props.op.responses).map(([status, r]) => (
        <li>
          <code>{status}</code> <Described text={r.description} />
          {schemaOf(r.content) && <span class="muted">{`: ${typeOf(schemaOf(r.content)!)}`}</span>}
        </li>
      ))}
    </ul>
  );
}

export function ApiPage(props: { document: ApiDocument; session: Session }) {
  const { document } = props;
  const operations = Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ path, method, op }))
  );
  return (
    <Layout title="API" session={props.session}>
      <p class="note">
        <Described text={document.info.description ?? ""} /> The whole reference as OpenAPI 3.1:{" "}
        <a href={OPENAPI_PATH}>{OPENAPI_PATH}</a> (version{" "}
        {document.info.version}), with the JSON Schema of every parameter, body and answer.
      </p>
      {document.tags.map(({ name }) => {
        const ops = operations.filter((o) => o.op.tags.includes(name));
        return (
          <Panel title={name} meta={`${ops.length} ${ops.length === 1 ? "operation" : "operations"}`}>
            <table class="api">
              <thead>
                <tr>
                  <th>Operation</th>
                  <th>Access</th>
                  <th>Parameters</th>
                  <th>Answers</th>
                </tr>
              </thead>
              <tbody>
                {ops.map(({ path, method, op }) => (
                  <tr id={op.operationId}>
                    <td>
                      <code class="method">{method.toUpperCase()}</code> <code>{path}</code>
                      <div>
                        <Described text={op.summary} />
                      </div>
                      {op.description && (
                        <div class="muted">
                          <Described text={op.description} />
                        </div>
                      )}
                    </td>
                    <td>{access(op.security)}</td>
                    <td>
                      <Parameters op={op} />
                    </td>
                    <td>
                      <Responses op={op} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Panel>
        );
      })}
      <h2 id="schemas">Schemas</h2>
      {Object.entries(document.components.schemas).map(([name, schema]) => <SchemaPanel name={name} schema={schema} />)}
    </Layout>
  );
}

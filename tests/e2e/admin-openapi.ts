// Validates real admin API answers against the OpenAPI 3.1 document the Worker serves.
//
//   const api = await openApi();              // fetches /api/v1/openapi.json once
//   const res = await api.call("get", "/bots/{bot_id}", { bot_id: id });  // validated answer
//
// OpenAPI 3.1 schemas are JSON Schema 2020-12, so Ajv's 2020 draft validates them; the whole
// document is registered under one id so `#/components/...` references resolve from any schema.
import { Ajv2020 } from "ajv/dist/2020.js";
import type { ValidateFunction } from "ajv";
import { type JsonResponse, fetchJson, keel } from "./harness.js";

/** HTTP methods of the document. */
export type HttpMethod = "get" | "post" | "put" | "patch" | "delete";

interface Operation {
  responses: Record<string, { $ref?: string; content?: Record<string, { schema: unknown }> }>;
}
export interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Partial<Record<HttpMethod, Operation>>>;
}

/** `/bots/{bot_id}` with `{bot_id: "x"}` → `/bots/x` (values URI-encoded). */
export function fillPath(template: string, params: Record<string, string> = {}): string {
  return template.replace(/\{(\w+)\}/g, (_m, name: string) => {
    const v = params[name];
    if (v === undefined) throw new Error(`missing path parameter ${name} for ${template}`);
    return encodeURIComponent(v);
  });
}

/** JSON pointer escaping of one segment. */
function esc(segment: string): string {
  return segment.replace(/~/g, "~0").replace(/\//g, "~1");
}

/** Every (method, path template) of the document. */
export function operations(doc: OpenApiDoc): { method: HttpMethod; path: string }[] {
  const out: { method: HttpMethod; path: string }[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of Object.keys(item) as HttpMethod[]) out.push({ method, path });
  }
  return out;
}

/** The document plus validators, and a caller that checks every answer against it. */
export interface OpenApi {
  doc: OpenApiDoc;
  /** Throws unless `status` is documented for the operation and `body` matches its schema. */
  check: (method: HttpMethod, template: string, res: JsonResponse) => void;
  /** Calls the operation with `token` (default: this spec file's admin token, see file-context.ts) and checks the answer. */
  call: <T = unknown>(
    method: HttpMethod,
    template: string,
    params?: Record<string, string>,
    init?: { json?: unknown; token?: string; query?: string },
  ) => Promise<JsonResponse<T>>;
  /** How many answers were validated, per `METHOD path status`. */
  checked: Map<string, number>;
}

/** Fetches the served document and prepares the validators. */
export async function openApi(): Promise<OpenApi> {
  const res = await fetchJson<OpenApiDoc>("/api/v1/openapi.json");
  if (res.status !== 200 || !res.body) throw new Error(`openapi.json answered ${res.status}`);
  const doc = res.body;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema(doc, "keel-openapi");
  const cache = new Map<string, ValidateFunction>();
  const checked = new Map<string, number>();

  const validator = (pointer: string): ValidateFunction => {
    let v = cache.get(pointer);
    if (!v) {
      v = ajv.compile({ $ref: `keel-openapi#${pointer}` });
      cache.set(pointer, v);
    }
    return v;
  };

  const check = (method: HttpMethod, template: string, r: JsonResponse): void => {
    const op = doc.paths[template]?.[method];
    if (!op) throw new Error(`${method.toUpperCase()} ${template} is not in openapi.json`);
    const status = String(r.status);
    const resp = op.responses[status];
    if (!resp) throw new Error(`${method.toUpperCase()} ${template} answered ${status}, undocumented: ${r.text.slice(0, 300)}`);
    let pointer = `/paths/${esc(template)}/${method}/responses/${status}`;
    let target = resp;
    if (resp.$ref) {
      pointer = resp.$ref.replace(/^#/, "");
      const parts = pointer.split("/").slice(1);
      let node: unknown = doc;
      for (const p of parts) node = (node as Record<string, unknown>)[p.replace(/~1/g, "/").replace(/~0/g, "~")];
      target = node as typeof resp;
    }
    if (!target.content?.["application/json"]) return;
    const v = validator(`${pointer}/content/application~1json/schema`);
    if (!v(r.body)) {
      throw new Error(
        `${method.toUpperCase()} ${template} ${status} does not match openapi.json: ${ajv.errorsText(v.errors)}\n${r.text.slice(0, 600)}`,
      );
    }
    const key = `${method.toUpperCase()} ${template} ${status}`;
    checked.set(key, (checked.get(key) ?? 0) + 1);
  };

  const call = async <T = unknown>(
    method: HttpMethod,
    template: string,
    params: Record<string, string> = {},
    init: { json?: unknown; token?: string; query?: string } = {},
  ): Promise<JsonResponse<T>> => {
    const url = `/api/v1${fillPath(template, params)}${init.query ? `?${init.query}` : ""}`;
    const r = await fetchJson<T>(url, {
      method: method.toUpperCase(),
      headers: { authorization: `Bearer ${init.token ?? keel().adminToken}` },
      json: init.json,
    });
    check(method, template, r);
    return r;
  };

  return { doc, check, call, checked };
}

/**
 * fast-check arbitraries from our /openapi.json: for each operation, path params, query strings,
 * headers and JSON bodies that are either schema-shaped (valid-ish: right types, enums, patterns
 * approximated, bounds sometimes crossed) or garbage (any string / any JSON / broken JSON).
 */
import fc from "fast-check";

export type JsonSchema = {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  additionalProperties?: boolean | JsonSchema;
};
export type Parameter = { name: string; in: "path" | "query" | "header" | "cookie"; required?: boolean; schema?: JsonSchema };
export type Operation = { method: string; path: string; parameters: Parameter[]; body?: JsonSchema; security: boolean };
export type OpenApiDoc = {
  paths: Record<
    string,
    Record<string, { parameters?: Parameter[]; requestBody?: { content?: Record<string, { schema?: JsonSchema }> }; security?: unknown[] }>
  >;
  components?: { schemas?: Record<string, JsonSchema> };
};

export function operations(doc: OpenApiDoc): Operation[] {
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(item)) {
      if (!["get", "post", "put", "patch", "delete"].includes(method)) continue;
      ops.push({
        method: method.toUpperCase(),
        path,
        parameters: op.parameters ?? [],
        body: op.requestBody?.content?.["application/json"]?.schema,
        security: Boolean(op.security?.length),
      });
    }
  return ops;
}

const hex = (min: number, max: number) => fc.string({ unit: fc.constantFrom(..."0123456789abcdefABCDEF"), minLength: min, maxLength: max });
/** Strings that tend to break parsers, paths, SQL and URL handling. */
const nasty = fc.constantFrom(
  "",
  " ",
  "0",
  "-1",
  "1e309",
  "NaN",
  "null",
  "undefined",
  "true",
  "../../etc/passwd",
  "%00",
  "%",
  "%zz",
  "'; DROP TABLE users; --",
  "\u0000",
  "😀",
  "\ud800",
  "x".repeat(5000),
  "9".repeat(100),
  "0x",
  "0xzz",
  `0x${"f".repeat(40)}`,
  `0x${"0".repeat(40)}`,
  "cosmic:1",
  "cosmic:-1",
  "cosmic:99999999999999999999999999999999999999999999999999999999999999999999999999999999",
  ":",
  "http://127.0.0.1:9/x",
  "http://169.254.169.254/latest/meta-data",
  "file:///etc/passwd",
  "00000000-0000-0000-0000-000000000000",
  "__proto__",
  "constructor",
);
const garbageString = fc.oneof(nasty, fc.string({ maxLength: 60 }), fc.string({ unit: "grapheme", maxLength: 30 }));

/** A string shaped like the schema's pattern/format, approximately (the common shapes in our API). */
function patternString(s: JsonSchema): fc.Arbitrary<string> {
  const p = s.pattern ?? "";
  if (/0x\[0-9a-fA-F\]\{40\}/.test(p)) return hex(40, 40).map((h) => `0x${h}`);
  if (/0x\[0-9a-fA-F\]/.test(p)) return hex(0, 130).map((h) => `0x${h}`);
  if (/^\^?\\d\+|\[0-9\]\+/.test(p)) return fc.bigInt({ min: 0n, max: 2n ** 256n }).map(String);
  if (s.format === "uuid") return fc.uuid();
  if (s.format === "uri" || s.format === "url") return fc.webUrl();
  if (s.format === "date-time") return fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
  if (s.format === "email") return fc.emailAddress();
  return fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 40, 200) });
}

export function fromSchema(doc: OpenApiDoc, schema: JsonSchema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 5) return fc.jsonValue({ maxDepth: 2 });
  if (schema.$ref) return fromSchema(doc, doc.components?.schemas?.[schema.$ref.split("/").pop()!], depth + 1);
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alts = schema.anyOf ?? schema.oneOf;
  if (alts?.length) return fc.oneof(...alts.map((a) => fromSchema(doc, a, depth + 1)));
  if (schema.allOf?.length) return fromSchema(doc, schema.allOf[0], depth + 1);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
  switch (type) {
    case "string":
      return fc.oneof({ weight: 4, arbitrary: patternString(schema) }, { weight: 1, arbitrary: garbageString });
    case "integer":
      return fc.oneof(fc.integer({ min: schema.minimum ?? -10, max: Math.min(schema.maximum ?? 1000, 2 ** 31) }), fc.constantFrom(-1, 0, 2 ** 53, 1e21));
    case "number":
      return fc.oneof(fc.double({ noNaN: true }), fc.integer());
    case "boolean":
      return fc.boolean();
    case "array":
      return fc.array(fromSchema(doc, schema.items, depth + 1), { maxLength: 4 });
    case "object": {
      const props = Object.entries(schema.properties ?? {});
      if (!props.length) return fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 });
      const required = new Set(schema.required ?? []);
      const shape = Object.fromEntries(props.map(([k, v]) => [k, fromSchema(doc, v, depth + 1)]));
      // Sometimes drop required keys too: missing fields must be a 400 like any other.
      return fc.oneof(
        { weight: 4, arbitrary: fc.record(shape, { requiredKeys: props.map(([k]) => k).filter((k) => required.has(k)) }) },
        { weight: 1, arbitrary: fc.record(shape, { requiredKeys: [] }) },
      );
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** One parameter's value as the string that goes on the wire. */
export function paramValue(doc: OpenApiDoc, p: Parameter): fc.Arbitrary<string> {
  const shaped = fromSchema(doc, p.schema).map((v) => (typeof v === "string" ? v : (JSON.stringify(v) ?? "")));
  return fc.oneof({ weight: 3, arbitrary: shaped }, { weight: 1, arbitrary: garbageString });
}

export type Body = { kind: "none" } | { kind: "json"; value: unknown } | { kind: "raw"; text: string; contentType?: string };

export function bodyArb(doc: OpenApiDoc, op: Operation): fc.Arbitrary<Body> {
  const shaped = fromSchema(doc, op.body).map((value): Body => ({ kind: "json", value }));
  const garbage = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }).map((value): Body => ({ kind: "json", value })),
    fc.constantFrom<Body>(
      { kind: "none" },
      { kind: "raw", text: "{not json" },
      { kind: "raw", text: "" },
      { kind: "raw", text: "null" },
      { kind: "raw", text: '{"__proto__":{"admin":true}}' },
      { kind: "raw", text: "a=1&b=2", contentType: "application/x-www-form-urlencoded" },
      { kind: "raw", text: "<xml/>", contentType: "text/xml" },
      { kind: "raw", text: `[${"[".repeat(2000)}${"]".repeat(2000)}]` },
    ),
  );
  return op.body ? fc.oneof({ weight: 3, arbitrary: shaped }, { weight: 2, arbitrary: garbage }) : fc.oneof(fc.constant<Body>({ kind: "none" }), garbage);
}

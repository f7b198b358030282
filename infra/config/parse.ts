/**
 * The building blocks of every configuration section (infra/config/*): zod parsers of environment
 * strings whose default is written once, in the section's schema, and one error for the lot.
 */
import { z } from "zod";
import { CosmicError } from "../errors.js";

/** A wrong or missing setting; the message names the variable to fix (one line per problem). */
export class ConfigError extends CosmicError {
  override name = "ConfigError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("config", "CONFIG_INVALID", message, options);
  }
}

/**
 * An integer variable: `def` when unset or empty, otherwise an integer in [min, max]. Messages do
 * not repeat the variable: `configIssues` prefixes each with its name.
 */
export const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === "") return def;
      const n = Number(v);
      if (!Number.isInteger(n)) ctx.addIssue({ code: "custom", message: `must be an integer (got "${v}")` });
      else if (n < min || n > max)
        ctx.addIssue({
          code: "custom",
          message: max === Number.MAX_SAFE_INTEGER ? `must be >= ${min} (got ${n})` : `must be between ${min} and ${max} (got ${n})`,
        });
      else return n;
      return z.NEVER;
    });

/** A switch: 1/true/on or 0/false/off (any case); `def` when unset or empty. */
export const bool = (def: boolean) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const s = (v ?? "").trim().toLowerCase();
      if (s === "") return def;
      if (["1", "true", "on"].includes(s)) return true;
      if (["0", "false", "off"].includes(s)) return false;
      ctx.addIssue({ code: "custom", message: `must be 1/true/on or 0/false/off (got "${v}")` });
      return z.NEVER;
    });

/** A comma-separated list (trimmed, empty entries dropped). */
export const list = (lowercase = false) =>
  z
    .string()
    .optional()
    .transform((v) =>
      (v ?? "")
        .split(",")
        .map((s) => (lowercase ? s.trim().toLowerCase() : s.trim()))
        .filter(Boolean),
    );

/** A free string; undefined when unset or empty. */
export const text = () =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v === "" ? undefined : v));

/** One line per problem, `NAME: message`, for a ConfigError that reports everything at once. */
export function configIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${String(i.path[0])}: ${i.message}`).join("\n");
}

/** Parses one section's variables or throws one ConfigError listing every problem. */
export function parseSection<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv): z.output<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) throw new ConfigError(configIssues(parsed.error));
  return parsed.data;
}

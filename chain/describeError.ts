/** Describes an error and its causes in one line for logs (viem errors walked, sockets' codes kept). */
import { BaseError } from "viem";

/** An error with its causes, for logs: viem's short message, its details, and a socket error code. */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  const add = (part: unknown) => {
    if (typeof part === "string" && part && !parts.some((p) => p.includes(part))) parts.push(part);
  };
  if (error instanceof BaseError) {
    add(error.shortMessage);
    error.walk((cause) => {
      const c = cause as { details?: unknown; code?: unknown; message?: unknown; shortMessage?: unknown; status?: unknown };
      add(typeof c.shortMessage === "string" ? c.shortMessage : c.message);
      if (typeof c.status === "number") add(`HTTP ${c.status}`);
      add(c.details);
      if (typeof c.code === "string") add(c.code);
      return false;
    });
  } else {
    let cause: unknown = error;
    for (let depth = 0; cause && depth < 5; depth++) {
      add(cause instanceof Error ? cause.message : String(cause));
      if (typeof (cause as { code?: unknown }).code === "string") add((cause as { code: string }).code);
      cause = (cause as { cause?: unknown }).cause;
    }
  }
  return parts.join(" | ").replace(/\s+/g, " ").slice(0, 500);
}

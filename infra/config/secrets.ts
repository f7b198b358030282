/** Which variables hold secrets: their values are scrubbed from every log line (infra/logger.ts `registerSecrets`). */

/** The secrets of a process's environment: keys, tokens, passwords in URLs, RPC URL paths (provider keys). */
export function secretsOfEnv(env: NodeJS.ProcessEnv): string[] {
  const out: (string | undefined)[] = [env.MINTER_PRIVATE_KEY, env.METRICS_TOKEN, env.EVENTS_TICKET_SECRET, env.AUTH_JWT_KEYS];
  try {
    for (const jwk of [JSON.parse(env.AUTH_JWT_KEYS ?? "[]")].flat() as { d?: string }[]) out.push(jwk?.d);
  } catch {}
  for (const [name, value] of Object.entries(env)) {
    if (!value || !/^(DATABASE_URL|REDIS_URL|(PONDER_)?RPC_URL_\w+|IPFS_GATEWAY)$/.test(name)) continue;
    for (const raw of value.split(",")) {
      try {
        const url = new URL(raw.trim());
        out.push(url.password && decodeURIComponent(url.password), url.username && url.password ? decodeURIComponent(url.username) : undefined);
        const rest = url.pathname + url.search;
        if (rest.length > 1 && name !== "DATABASE_URL" && name !== "REDIS_URL") out.push(rest.replace(/^\//, ""), url.pathname.replace(/^\/+|\/+$/g, ""));
      } catch {}
    }
  }
  return out.filter((v): v is string => !!v);
}

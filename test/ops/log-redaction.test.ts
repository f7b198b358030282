/**
 * One redaction path for every log line (infra/logger.ts scrubSecrets at the destination), checked
 * the way an attacker reading the logs would: a representative run across the auth, events/tickets,
 * API keys, metrics, realtime and chain-error paths, every logger at debug level into one sink,
 * then a search of all of it for every secret the run handled. Positive checks keep the search from
 * passing on an empty log.
 */
import { createPublicClient, http } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../domain/auth/service.js";
import { secretsOfEnv } from "../../infra/config/secrets.js";
import { createLogger, registerSecrets, scrubSecrets } from "../../infra/logger.js";
import { loadOpsConfig } from "../../infra/config/ops.js";
import { startRealtimeServer } from "../../realtime/server.js";
import { json, logCollector, siweMessage } from "../api/helpers.js";
import { bearer, createEventsApp, type EventsApp, fakeNetwork, inMinutes, organizer, post } from "../events/helpers.js";
import { connect } from "../realtime/helpers.js";
import { buildApp } from "../../api/app.js";

// A provider key in the RPC URL path (Alchemy style) and a password in the Redis URL.
const RPC_KEY = "Alch3myKeyAbCdEf0123456789xYz";
const RPC_URL = `http://127.0.0.1:9/v2/${RPC_KEY}`;
const REDIS_PASSWORD = "hunter2-redis-pw";
const SHORT_KEY = "rpcK3y9z";
let t: EventsApp;

beforeAll(async () => {
  const network = fakeNetwork();
  network.chains[0]!.rpcUrl = RPC_URL;
  t = await createEventsApp({ kv: "redis", network, startJobs: false, env: { LOG_LEVEL: "debug" } });
  // What app/deps.ts does at start with the process environment.
  registerSecrets(secretsOfEnv({ REDIS_URL: `redis://:${REDIS_PASSWORD}@127.0.0.1:6379`, RPC_URL_BASE: `https://base.example/${SHORT_KEY}` }));
});
afterAll(async () => {
  await t?.close();
});

describe("log redaction", () => {
  it("no secret handled during a multi-domain run reaches any log line", async () => {
    const secrets: string[] = [RPC_KEY, REDIS_PASSWORD, SHORT_KEY];
    const log = t.deps.logger;

    // Auth: SIWE login (signature), refresh, me, logout.
    const account = privateKeyToAccount(generatePrivateKey());
    const { nonce } = (await (await t.request(`/auth/nonce/${account.address}`)).json()) as { nonce: string };
    const message = siweMessage({ address: account.address, nonce, chainId: 31337 });
    const signature = await account.signMessage({ message });
    const pair = (await (await t.request("/auth/login", json({ message, signature }))).json()) as { accessToken: string; refreshToken: string };
    const rotated = (await (await t.request("/auth/refresh", json({ refreshToken: pair.refreshToken }))).json()) as {
      accessToken: string;
      refreshToken: string;
    };
    expect((await t.request("/auth/me", { headers: bearer(rotated.accessToken) })).status).toBe(200);
    secrets.push(signature, pair.accessToken, pair.refreshToken, rotated.accessToken, rotated.refreshToken);

    // API keys: created, used, a wrong one tried.
    const created = (await (await t.request("/auth/api-keys", json({ name: "ops", roles: ["minter"] }, bearer(t.admin.token)))).json()) as { key: string };
    await t.request("/auth/api-keys", { headers: { "x-api-key": created.key } });
    await t.request("/auth/api-keys", { headers: { "x-api-key": "clk_wrongButSecretLooking0123456789" } });
    secrets.push(created.key, "clk_wrongButSecretLooking0123456789", t.admin.token);

    // Events: a signed ticket used as x-ticket, its rotating code scanned at the door.
    const org = await organizer(t);
    const event = (await (
      await t.request(
        "/events",
        post({ name: "Gala", startsAt: inMinutes(30), endsAt: inMinutes(90), capacity: 5, collection: "cosmic", chainId: 31337 }, org.token),
      )
    ).json()) as { id: string };
    const holder = await t.login();
    const reg = (await (await t.request(`/events/${event.id}/register`, { method: "POST", headers: bearer(holder.token) })).json()) as { ticket: string };
    const code = (await (await t.request(`/events/${event.id}/ticket?format=json`, { headers: { "x-ticket": reg.ticket } })).json()) as { payload: string };
    expect((await t.request(`/events/${event.id}/verify`, post({ code: code.payload }, org.token))).status).toBe(200);
    await t.request(`/events/${event.id}/ticket?format=json`, { headers: { "x-ticket": `${reg.ticket}x` } });
    secrets.push(reg.ticket, code.payload, org.token, holder.token);

    // Metrics token, right and wrong.
    const metricsToken = "metrics-secret-0123456789";
    const withMetrics = buildApp({ ...t.deps, ops: { ...loadOpsConfig({}), metricsToken } });
    // (A route making a real RPC call, for the error path below.)
    withMetrics.get("/test/rpc", async (c) =>
      c.json({ block: String(await createPublicClient({ transport: http(RPC_URL, { retryCount: 0 }) }).getBlockNumber()) }),
    );
    await withMetrics.request("/api/metrics", { headers: { authorization: `Bearer ${metricsToken}` } });
    await withMetrics.request("/api/metrics", { headers: { authorization: "Bearer wrong-metrics-secret-000" } });
    secrets.push(metricsToken, "wrong-metrics-secret-000");

    // A chain error through the app's error handler: viem puts the full RPC URL in message, details and url.
    expect([500, 503]).toContain((await withMetrics.request("/test/rpc")).status);
    // ... and logged by hand, as jobs and the notifier do.
    try {
      await createPublicClient({ transport: http(`https://base.example/${SHORT_KEY}?apikey=QueryKey123`, { retryCount: 0, timeout: 1 }) }).getBlockNumber();
    } catch (err) {
      log.error({ err, rpcUrl: RPC_URL }, "chain call failed");
    }
    secrets.push("QueryKey123");

    // Free text from a dependency, objects passed by hand.
    log.warn(
      `upstream echoed Authorization: Bearer ${rotated.accessToken} from wss://node.example/ws?access_token=${pair.accessToken}&token=raw-query-token-1`,
    );
    log.info(
      { redisUrl: `redis://default:${REDIS_PASSWORD}@cache.internal:6379/0`, headers: { "x-ticket": reg.ticket, cookie: "sid=cookie-secret-value" } },
      "config",
    );
    secrets.push("raw-query-token-1", "cookie-secret-value");

    // Realtime: a handshake with ?access_token=, closed by the logout that revokes its session.
    const sink = logCollector();
    const realtime = await startRealtimeServer({
      kv: t.deps.kv,
      auth: new AuthService(t.deps),
      logger: createLogger({ level: "debug", destination: sink.destination }),
      port: 0,
      host: "127.0.0.1",
    });
    try {
      const socket = await connect(realtime.url, rotated.accessToken);
      await t.request("/auth/logout", { method: "POST", headers: bearer(rotated.accessToken) });
      expect((await socket.closed).code).toBe(4001);
    } finally {
      await realtime.close();
    }

    await new Promise((r) => setTimeout(r, 50));
    const all = [...t.logs, ...sink.lines].join("\n");
    for (const secret of secrets) expect(all, `secret ${secret.slice(0, 12)}… in the logs`).not.toContain(secret);
    // The log still says what happened.
    expect(all).toContain('"path":"/auth/login"');
    expect(all).toMatch(/"msg":"(dependency unavailable|unhandled error)"/);
    expect(all).toContain('"msg":"chain call failed"');
    expect(all).toContain("127.0.0.1:9/v2/[redacted]");
    expect(all).toContain("closing socket");
    expect(all).toContain("[redacted]");
  });

  it("scrubSecrets: URLs keep host and ordinary paths, lose credentials and key-like parts", () => {
    expect(scrubSecrets("GET https://user:pw@rpc.example:8545/v3/0123456789abcdef0123456789abcdef?x=1&api_key=zzz")).toBe(
      "GET https://[redacted]@rpc.example:8545/v3/[redacted]?x=1&api_key=[redacted]",
    );
    expect(scrubSecrets('{"path":"/events/123/ticket","status":200}')).toBe('{"path":"/events/123/ticket","status":200}');
    expect(scrubSecrets('{"msg":"code CL1:0a1b2c:123456:ABCDEF0123 scanned"}')).toBe('{"msg":"code CL1:[redacted] scanned"}');
    expect(scrubSecrets('{"Authorization":"Basic dXNlcjpwYXNz","d":"privatejwk"}')).toBe('{"Authorization":"[redacted]","d":"[redacted]"}');
  });
});

/**
 * Session revocation reaches open WebSockets on every replica within a second (Redis pub/sub,
 * domain/auth/revocation.ts): logout, refresh-token reuse and a role change close that session's (or
 * that account's) sockets with 4001; other sessions stay open. The handshake refuses the revoked or
 * stale token afterwards.
 */
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEventsApp, type EventsApp, fakeNetwork } from "../events/helpers.js";
import { json, siweMessage } from "../api/helpers.js";
import { type Cluster, connect, handshakeStatus, startCluster, type TestSocket } from "./helpers.js";

let cluster: Cluster;
let events: EventsApp;

beforeAll(async () => {
  events = await createEventsApp({ kv: "redis", network: fakeNetwork(), startJobs: false });
  cluster = await startCluster({ count: 2, base: events });
});
afterAll(async () => {
  await cluster?.close();
  await events?.close();
});

type Pair = { accessToken: string; refreshToken: string; sessionId: string };
async function signIn(account = privateKeyToAccount(generatePrivateKey())): Promise<Pair & { account: typeof account }> {
  const { nonce } = (await (await events.request(`/auth/nonce/${account.address}`)).json()) as { nonce: string };
  const message = siweMessage({ address: account.address, nonce, chainId: 31337 });
  const res = await events.request("/auth/login", json({ message, signature: await account.signMessage({ message }) }));
  expect(res.status).toBe(200);
  return { ...((await res.json()) as Pair), account };
}

/** Resolves with the close code and how long after `since` it came. */
const closedWithin = async (socket: TestSocket, since: number) => {
  const { code, reason } = await Promise.race([
    socket.closed,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error("socket not closed within 3 s")), 3_000)),
  ]);
  return { code, reason, ms: Date.now() - since };
};
const stillOpen = async (socket: TestSocket) => {
  socket.send({ type: "ping" });
  await socket.next((m) => m.type === "pong" && m.at >= Date.now() - 1_000);
  return socket.ws.readyState === socket.ws.OPEN;
};

describe("revocation closes sockets on every replica", () => {
  it("logout: the session's sockets on A and B close with 4001 within a second; another session of the wallet stays open", async () => {
    const [a, b] = cluster.replicas as [Cluster["replicas"][0], Cluster["replicas"][0]];
    const first = await signIn();
    const second = await signIn(first.account);
    const onA = await connect(a.realtime.server.url, first.accessToken);
    const onB = await connect(b.realtime.server.url, first.accessToken);
    const other = await connect(b.realtime.server.url, second.accessToken);
    const started = Date.now();
    expect((await a.app.request("/auth/logout", { method: "POST", headers: { authorization: `Bearer ${first.accessToken}` } })).status).toBe(200);
    for (const socket of [onA, onB]) {
      const closed = await closedWithin(socket, started);
      expect(closed.code).toBe(4001);
      expect(closed.reason).toBe("session revoked");
      expect(closed.ms).toBeLessThan(1_000);
    }
    expect(await stillOpen(other)).toBe(true);
    expect(await handshakeStatus(`${b.realtime.server.url}?access_token=${first.accessToken}`)).toBe(401);
    other.close();
  });

  it("refresh-token reuse revokes the family and closes its sockets", async () => {
    const [a, b] = cluster.replicas as [Cluster["replicas"][0], Cluster["replicas"][0]];
    const pair = await signIn();
    const socket = await connect(b.realtime.server.url, pair.accessToken);
    const r1 = await a.app.request("/auth/refresh", json({ refreshToken: pair.refreshToken }));
    const rotated = (await r1.json()) as Pair;
    await a.app.request("/auth/refresh", json({ refreshToken: rotated.refreshToken }));
    const started = Date.now();
    // The first token again, outside the grace (its successor was used): reuse.
    const reused = await a.app.request("/auth/refresh", json({ refreshToken: pair.refreshToken }));
    expect(((await reused.json()) as { error: { code: string } }).error.code).toBe("REFRESH_TOKEN_REUSED");
    const closed = await closedWithin(socket, started);
    expect([closed.code, closed.reason]).toEqual([4001, "session revoked"]);
    expect(closed.ms).toBeLessThan(1_000);
  });

  it("a role change closes every socket of the account; its old token is stale (TOKEN_STALE) until refreshed", async () => {
    const [a, b] = cluster.replicas as [Cluster["replicas"][0], Cluster["replicas"][0]];
    const pair = await signIn();
    const bystander = await signIn();
    const sockets = [await connect(a.realtime.server.url, pair.accessToken), await connect(b.realtime.server.url, pair.accessToken)];
    const unaffected = await connect(b.realtime.server.url, bystander.accessToken);
    const started = Date.now();
    await events.grant(pair.account.address, "organizer");
    for (const socket of sockets) {
      const closed = await closedWithin(socket, started);
      expect([closed.code, closed.reason]).toEqual([4001, "roles changed: refresh the access token"]);
      expect(closed.ms).toBeLessThan(1_000);
    }
    expect(await stillOpen(unaffected)).toBe(true);
    const me = await a.app.request("/auth/me", { headers: { authorization: `Bearer ${pair.accessToken}` } });
    expect([me.status, ((await me.json()) as { error: { code: string } }).error.code]).toEqual([401, "TOKEN_STALE"]);
    expect(await handshakeStatus(`${a.realtime.server.url}?access_token=${pair.accessToken}`)).toBe(401);
    // A refreshed token carries the new role and connects.
    const refreshed = (await (await a.app.request("/auth/refresh", json({ refreshToken: pair.refreshToken }))).json()) as Pair & { roles: string[] };
    expect(refreshed.roles).toEqual(["user", "organizer"]);
    const again = await connect(b.realtime.server.url, refreshed.accessToken);
    expect(await stillOpen(again)).toBe(true);
    again.close();
    unaffected.close();
  });
});

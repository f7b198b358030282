/**
 * Two API replicas on one Postgres database and one Redis: pushes published through replica A reach
 * sockets of replica B; handshake auth; rooms; a slow client is dropped (4008) without delaying others.
 */
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REALTIME_CHANNEL } from "../../realtime/protocol.js";
import { createEventsApp, type EventsApp, fakeNetwork, inMinutes, organizer, post } from "../events/helpers.js";
import { type Cluster, connect, handshakeStatus, startCluster } from "./helpers.js";

let cluster: Cluster;
let events: EventsApp;
const alice = privateKeyToAccount(generatePrivateKey()).address;
const bob = privateKeyToAccount(generatePrivateKey()).address;

beforeAll(async () => {
  events = await createEventsApp({ kv: "redis", network: fakeNetwork(), startJobs: false });
  cluster = await startCluster({ count: 2, base: events, ops: { REALTIME_MAX_BUFFER_BYTES: "262144" } });
});
afterAll(async () => {
  await cluster?.close();
  await events?.close();
});

describe("fan-out across replicas", () => {
  it("a socket on B receives the push of a registration made through A's route", async () => {
    const [a, b] = cluster.replicas as [Cluster["replicas"][0], Cluster["replicas"][0]];
    const org = await organizer(events);
    const created = await a.app.request(
      "/events",
      post({ name: "Launch", startsAt: inMinutes(30), endsAt: inMinutes(90), capacity: 5, collection: "cosmic", chainId: 31337 }, org.token),
    );
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const user = await events.login();
    const watcher = await connect(b.realtime.server.url, user.token);
    const anonymous = await connect(b.realtime.server.url);
    anonymous.send({ type: "subscribe", rooms: [`event:${id}`] });
    await anonymous.next((m) => m.type === "subscribed");
    const registered = await a.app.request(`/events/${id}/register`, { method: "POST", headers: { authorization: `Bearer ${user.token}` } });
    expect(registered.status).toBe(201);
    const own = await watcher.next((m) => m.type === "event:registered");
    expect(own).toMatchObject({ rooms: [`user:${user.address}`], data: { eventId: id, address: user.address } });
    // An anonymous socket in the event room learns the count, not who registered.
    const room = await anonymous.next((m) => m.type === "event:registered");
    expect(room).toMatchObject({ rooms: [`event:${id}`], data: { eventId: id, registered: 1, capacity: 5 } });
    expect(JSON.stringify(room).toLowerCase()).not.toContain(user.address.toLowerCase().slice(2));
    watcher.close();
    anonymous.close();
  });

  it("a socket on B receives an envelope published by A (its user room and the event room, once)", async () => {
    const [a, b] = cluster.replicas as [Cluster["replicas"][0], Cluster["replicas"][0]];
    const socket = await connect(b.realtime.server.url, await cluster.token(alice));
    expect(socket.messages[0]).toMatchObject({ type: "welcome", address: alice, rooms: [`user:${alice}`] });
    socket.send({ type: "subscribe", rooms: ["event:evt-1"] });
    await socket.next((m) => m.type === "subscribed");
    // What the events service does after its commit (realtime/eventPushes.ts).
    await a.deps.kv.publish(
      REALTIME_CHANNEL,
      JSON.stringify({ type: "event:registered", rooms: ["event:evt-1", `user:${alice.toLowerCase()}`], data: { eventId: "evt-1" } }),
    );
    const push = await socket.next((m) => m.type === "event:registered");
    expect(push).toMatchObject({ data: { eventId: "evt-1" } });
    expect(push.rooms.sort()).toEqual(["event:evt-1", `user:${alice}`].sort());
    await new Promise((r) => setTimeout(r, 100));
    expect(socket.messages.filter((m) => m.type === "event:registered")).toHaveLength(1);
    socket.send({ type: "unsubscribe", rooms: ["event:evt-1"] });
    await socket.next((m) => m.type === "unsubscribed");
    await a.deps.kv.publish(REALTIME_CHANNEL, JSON.stringify({ type: "event:attended", rooms: ["event:evt-1"], data: {} }));
    await a.deps.kv.publish(REALTIME_CHANNEL, JSON.stringify({ type: "event:attended", rooms: [`user:${alice}`], data: { last: true } }));
    await socket.next((m) => m.type === "event:attended" && m.data.last);
    expect(socket.messages.filter((m) => m.type === "event:attended")).toHaveLength(1);
    socket.close();
  });

  it("checks the token on the handshake and keeps user rooms private", async () => {
    const b = cluster.replicas[1]!;
    expect(await handshakeStatus(`${b.realtime.server.url}?access_token=not.a.jwt`)).toBe(401);
    expect(await handshakeStatus(b.realtime.server.url, { authorization: `Bearer ${await cluster.token(alice)}` })).toBe(101);
    expect(await handshakeStatus(b.realtime.server.url.replace("/ws", "/other"))).toBe(404);
    const anonymous = await connect(b.realtime.server.url);
    anonymous.send({ type: "subscribe", rooms: [`user:${bob}`] });
    expect(await anonymous.next((m) => m.type === "error")).toMatchObject({ code: "FORBIDDEN_ROOM" });
    anonymous.send({ type: "subscribe", rooms: ["nonsense"] });
    expect(await anonymous.next((m) => m.code === "INVALID_ROOM")).toBeTruthy();
    anonymous.send({ type: "ping" });
    expect(await anonymous.next((m) => m.type === "pong")).toBeTruthy();
    anonymous.ws.send("{oops");
    expect(await anonymous.next((m) => m.code === "MALFORMED_JSON")).toBeTruthy();
    anonymous.close();
  });

  it("drops a client that does not read (4008) while the others get every message", async () => {
    const [a, b] = cluster.replicas as [Cluster["replicas"][0], Cluster["replicas"][0]];
    const slow = await connect(b.realtime.server.url);
    const fast = await connect(b.realtime.server.url);
    for (const s of [slow, fast]) {
      s.send({ type: "subscribe", rooms: ["collection:flood"] });
      await s.next((m) => m.type === "subscribed");
    }
    // The slow client stops reading from its TCP socket.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const blob = "x".repeat(64 * 1024);
    const count = 300; // ~19 MB: more than the kernel buffers plus the 256 KiB application buffer
    for (let i = 0; i < count; i++)
      await a.deps.kv.publish(REALTIME_CHANNEL, JSON.stringify({ type: "nft:minted", rooms: ["collection:flood"], data: { i, blob } }));
    await fast.next((m) => m.type === "nft:minted" && m.data.i === count - 1, 30_000);
    expect(fast.messages.filter((m) => m.type === "nft:minted")).toHaveLength(count);
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect((await slow.closed).code).toBe(4008);
    fast.close();
  });

  it("limits handshakes per IP (429 with Retry-After)", async () => {
    const small = await startCluster({ count: 1, ops: { RATE_LIMIT_PER_IP: "3" } });
    try {
      const url = small.replicas[0]!.realtime.server.url;
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push(await handshakeStatus(url));
      expect(statuses).toEqual([101, 101, 101, 429, 429]);
    } finally {
      await small.close();
    }
  });

  it("closes a socket that stops answering heartbeats (4002)", async () => {
    const quick = await startCluster({ count: 1, ops: { REALTIME_HEARTBEAT_MS: "150" } });
    try {
      const silent = await connect(quick.replicas[0]!.realtime.server.url, undefined, { autoPong: false });
      const alive = await connect(quick.replicas[0]!.realtime.server.url);
      expect((await silent.closed).code).toBe(4002);
      expect(alive.ws.readyState).toBe(alive.ws.OPEN);
      alive.close();
    } finally {
      await quick.close();
    }
  });
});

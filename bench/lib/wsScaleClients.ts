/**
 * Child process of bench/ws-scale.ts: opens its share of the sockets (argv: count, then the servers'
 * URLs, assigned round-robin), subscribes each to `collection:cosmic`, then for every push reports the
 * receive instant of each socket (performance.timeOrigin + now: one clock for every process here).
 */
import { WebSocket } from "ws";

const count = Number(process.argv[2]);
const urls = process.argv.slice(3);
const now = () => performance.timeOrigin + performance.now();
const received = new Map<number, number[]>();
let live = count;
const ID = /"id":"ws-scale-(\d+)"/;

function onPush(seq: number, at: number) {
  let list = received.get(seq);
  if (!list) received.set(seq, (list = []));
  list.push(at);
  if (list.length === live) {
    received.delete(seq);
    process.send!({ type: "push", seq, at: list });
  }
}

async function open(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    let subscribed = false;
    ws.on("message", (data) => {
      const text = data.toString();
      if (!subscribed) {
        if (text.includes('"welcome"')) ws.send(JSON.stringify({ type: "subscribe", rooms: ["collection:cosmic"] }));
        else if (text.includes('"subscribed"')) {
          subscribed = true;
          resolve();
        }
        return;
      }
      const m = ID.exec(text);
      if (m) onPush(Number(m[1]), now());
    });
    ws.once("error", reject);
    ws.once("close", () => !subscribed && reject(new Error("closed before subscribing")));
  });
  return ws;
}

const sockets: WebSocket[] = [];
let failed = 0;
for (let i = 0; i < count; i += 200) {
  const batch = await Promise.allSettled(Array.from({ length: Math.min(200, count - i) }, (_, j) => open(urls[(i + j) % urls.length]!)));
  for (const r of batch) r.status === "fulfilled" ? sockets.push(r.value) : failed++;
}
live = sockets.length;
process.send!({ type: "ready", open: sockets.length, failed });

process.on("message", (m: { type: string }) => {
  if (m.type === "cpu") {
    const u = process.cpuUsage();
    process.send!({ type: "cpu", seconds: (u.user + u.system) / 1e6, system: u.system / 1e6 });
  } else if (m.type === "stop") {
    for (const s of sockets) s.terminate();
    process.exit(0);
  }
});

/**
 * A disposable PostgreSQL server of one test (never the shared one at :5432): `initdb` on a fresh
 * folder, `postgres` on a free port, both run as the `postgres` OS user (initdb refuses root).
 * `stop("fast")` is a fast shutdown (SIGINT: backends are terminated, clients get 57P01);
 * `stop("kill")` SIGKILLs the postmaster and every backend (a crash: the restart replays WAL).
 * Run as root, it needs the `postgres` OS user; otherwise it runs as the current user.
 * `start()` restarts on the same data folder and port.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chownSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { freePort } from "../../../devnet/anvil.js";

const BIN = process.env.POSTGRES_BIN_DIR ?? "/usr/lib/postgresql/15/bin";

function postgresUser(): { uid: number; gid: number } {
  const out = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
  const gid = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
  if (out.status !== 0 || gid.status !== 0) throw new Error("no postgres OS user: cannot run a disposable PostgreSQL server");
  return { uid: Number(out.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // pid (comm) state ppid ...: comm may hold spaces, so parse after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) out.push(Number(entry));
    } catch {}
  }
  return out;
}

/** A process that still holds resources (a zombie waiting for its reaper does not). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

export type PgServer = {
  url: string;
  port: number;
  dir: string;
  start(): Promise<void>;
  stop(mode: "fast" | "kill"): Promise<void>;
  /** Stops the server (if running) and removes its folder. */
  destroy(): Promise<void>;
};

export async function startPgServer(): Promise<PgServer> {
  const user = os.userInfo().uid === 0 ? postgresUser() : undefined;
  const dir = mkdtempSync(path.join(os.tmpdir(), "pg-outage-"));
  if (user) chownSync(dir, user.uid, user.gid);
  const data = path.join(dir, "data");
  const asUser = user ? { uid: user.uid, gid: user.gid } : {};
  const env = { ...process.env, LC_ALL: "C", HOME: dir };
  const init = spawnSync(path.join(BIN, "initdb"), ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"], {
    ...asUser,
    env,
    encoding: "utf8",
  });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${init.stderr || init.error}`);
  }
  const port = await freePort();
  let child: ChildProcess | undefined;
  let log = "";

  async function ready(deadline: number) {
    for (;;) {
      const client = new pg.Client({ host: "127.0.0.1", port, user: "postgres", database: "postgres", connectionTimeoutMillis: 1_000 });
      try {
        await client.connect();
        await client.query("SELECT 1");
        return;
      } catch (error) {
        if (child?.exitCode !== null && child?.exitCode !== undefined) throw new Error(`postgres exited (${child.exitCode}): ${log.slice(-2000)}`);
        if (Date.now() > deadline) throw new Error(`postgres not ready: ${(error as Error).message}`);
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        await client.end().catch(() => {});
      }
    }
  }

  const server: PgServer = {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    async start() {
      log = "";
      // Detached (own process group): not killed by a Ctrl-C meant for the test runner.
      child = spawn(
        path.join(BIN, "postgres"),
        [
          "-D",
          data,
          "-p",
          String(port),
          "-k",
          dir,
          "-c",
          "listen_addresses=127.0.0.1",
          "-c",
          "fsync=off",
          "-c",
          "max_connections=50",
          "-c",
          "shared_buffers=16MB",
        ],
        { ...asUser, env, detached: true, stdio: ["ignore", "ignore", "pipe"] },
      );
      child.stderr?.on("data", (d) => {
        log = (log + String(d)).slice(-8000);
      });
      await ready(Date.now() + 30_000);
    },
    async stop(mode) {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise((r) => c.once("exit", r));
      if (mode === "kill") {
        // Every backend is its own process group (postgres calls setsid in each child): kill the
        // postmaster and each child by pid, all at once, as a machine crash would.
        const pids = [c.pid!, ...childrenOf(c.pid!)];
        for (const pid of pids) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {}
        }
        await exited;
        // They must be gone before a restart can take the data folder's shared memory.
        for (let i = 0; i < 250 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 20));
      } else {
        c.kill("SIGINT");
        await exited;
      }
    },
    async destroy() {
      const c = child;
      if (c && c.exitCode === null && c.signalCode === null) {
        const exited = new Promise((r) => c.once("exit", r));
        c.kill("SIGINT");
        const timer = setTimeout(() => {
          try {
            process.kill(-c.pid!, "SIGKILL");
          } catch {}
        }, 5_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await server.start();
  } catch (error) {
    await server.destroy();
    throw error;
  }
  return server;
}

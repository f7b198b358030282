/**
 * End to end on a devnet with the real indexer (a Ponder child process on Postgres; our app reads its
 * tables through a read-only pool, as API replicas do): create → 100 concurrent registrations for 50
 * seats → ticket QR decoded → check-in once → a distribution worker killed (SIGKILL) right after a
 * batch is mined but before it is recorded → distribution resumed through POST /events/:id/distribute
 * (BullMQ) → every attendee owns exactly one event NFT, on chain and in the index → report matches.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import { type Address, getAbiItem, getAddress, zeroAddress } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CosmicONFT721Abi } from "../../abis/CosmicONFT721Abi.js";
import { type IndexedDb, connectIndexedDb, indexedTables } from "../../read/db.js";
import { eventTokenId } from "../../domain/events/tokenIds.js";
import { createServerSigners } from "../../chain/serverSigners.js";
import type { Devnet } from "../../devnet/start.js";
import { setupFromDeployments } from "../../indexer/setup.js";
import { eventParticipants } from "../../offchain/tables/events.js";
import { chainAt, collectionOn, deployer, startTestDevnet, waitFor } from "../helpers/devnet.js";
import { type PonderInstance, POSTGRES_URL, cleanupPonder, startPonder, waitForHead } from "../helpers/ponder.js";
import { bearer, createEventsApp, decodeQrPng, type EventsApp, inMinutes, organizer, post } from "./helpers.js";

let devnet: Devnet;
let ponder: PonderInstance | undefined;
let indexed: IndexedDb | undefined;
let t: EventsApp;
const tmp = mkdtempSync(path.join(tmpdir(), "events-flow-"));

beforeAll(async () => {
  devnet = await startTestDevnet({ chains: 1, baseChainId: 100_000 + Math.floor(Math.random() * 800_000) });
  ponder = await startPonder({ deployments: devnet.deployments, db: "postgres" });
  indexed = connectIndexedDb({ databaseUrl: POSTGRES_URL, schema: ponder.schema, max: 2 });
  const network = setupFromDeployments(devnet.deployments);
  const signers = createServerSigners({ chains: network.chains, privateKey: deployer.privateKey as `0x${string}`, pollingInterval: 20 });
  t = await createEventsApp({ kv: "redis", network, signers, indexed });
});

afterAll(async () => {
  await t?.close();
  await indexed?.close();
  if (ponder) await cleanupPonder(ponder);
  await devnet?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe("event lifecycle on a devnet", () => {
  it("create → register → QR → verify → distribute (killed, resumed) → NFTs on chain and indexed → report", async () => {
    const chain = chainAt(devnet.deployments, 0);
    const contract = getAddress(collectionOn(devnet.deployments, "cosmic", chain.chainId).token);
    const client = t.deps.signers!.get(chain.chainId)!.publicClient;
    const org = await organizer(t);

    // Create: 50 seats; 100 wallets register at once.
    const created = await t.request(
      "/events",
      post({ name: "Mainnet party", startsAt: inMinutes(30), endsAt: inMinutes(90), capacity: 50, collection: "cosmic", chainId: chain.chainId }, org.token),
    );
    expect(created.status).toBe(201);
    const event = (await created.json()) as { id: string; nft: { contract: string } };
    expect(event.nft.contract).toBe(contract);
    const users = await Promise.all(Array.from({ length: 100 }, () => t.login()));
    const regs = await Promise.all(users.map((u) => t.request(`/events/${event.id}/register`, { method: "POST", headers: bearer(u.token) })));
    const registered = users.filter((_, i) => regs[i]!.status === 201);
    expect(registered).toHaveLength(50);
    expect(regs.filter((r) => r.status === 409)).toHaveLength(50);

    // 30 come: the QR of each decodes to a code the organizer's scanner accepts once.
    const attendees = registered.slice(0, 30);
    const absent = registered.slice(30);
    for (const [i, u] of attendees.entries()) {
      const png = await t.request(`/events/${event.id}/ticket`, { headers: bearer(u.token) });
      const code = await decodeQrPng(new Uint8Array(await png.arrayBuffer()));
      expect(code).toBeDefined();
      const res = await t.request(`/events/${event.id}/verify`, post({ code }, org.token));
      expect(res.status).toBe(200);
      if (i === 0) expect((await t.request(`/events/${event.id}/verify`, post({ code }, org.token))).status).toBe(409);
    }

    // A worker process is killed right after its second batch is mined, before recording it.
    const deploymentsFile = path.join(tmp, "deployments.json");
    writeFileSync(deploymentsFile, JSON.stringify(devnet.deployments));
    const child = spawn(process.execPath, ["--import", "tsx", path.resolve("test/events/fixtures/distributeChild.ts")], {
      env: {
        ...process.env,
        DATABASE_URL: databaseUrlOf(t),
        DEVNET_DEPLOYMENTS: deploymentsFile,
        MINTER_PRIVATE_KEY: deployer.privateKey,
        EVENT_ID: event.id,
        BATCH_SIZE: "7",
        CRASH_AFTER_BATCH: "1",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let childOutput = "";
    child.stderr.on("data", (d) => (childOutput += d));
    const exit = await new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal })),
    );
    expect(exit, childOutput).toEqual({ code: null, signal: "SIGKILL" });
    const afterCrash = await t.deps.store.db.select().from(eventParticipants).where(eq(eventParticipants.eventId, event.id));
    expect(afterCrash.filter((p) => p.distributionStatus === "minted")).toHaveLength(7);
    expect(afterCrash.filter((p) => p.distributionStatus === "sending")).toHaveLength(7);
    const sending = afterCrash.filter((p) => p.distributionStatus === "sending").map((p) => BigInt(p.tokenId!));
    for (const id of sending) expect(await client.readContract({ address: contract, abi: CosmicONFT721Abi, functionName: "issued", args: [id] })).toBe(true);

    // Resume through the API (BullMQ worker in this process).
    const queued = await t.request(`/events/${event.id}/distribute`, { method: "POST", headers: bearer(org.token) });
    expect(queued.status).toBe(202);
    const { job } = (await queued.json()) as { job: { id: string } };
    let view: any;
    await waitFor(
      async () => {
        view = await (await t.request(`/jobs/${job.id}`, { headers: bearer(org.token) })).json();
        return view.status === "completed" || view.status === "failed";
      },
      60_000,
      "distribution job",
    );
    expect(view).toMatchObject({ type: "distribute-nfts", status: "completed", progress: { total: 30, done: 30 } });
    expect(view.result).toMatchObject({ attendees: 30, mintedNow: 16, alreadyIssued: 7, batches: 1 });

    // On chain: each attendee owns exactly its derived token; absentees own nothing; 30 mints in all.
    for (const u of attendees) {
      const id = eventTokenId(chain.eid, event.id, u.address);
      expect(await client.readContract({ address: contract, abi: CosmicONFT721Abi, functionName: "ownerOf", args: [id] })).toBe(u.address);
      expect(await client.readContract({ address: contract, abi: CosmicONFT721Abi, functionName: "balanceOf", args: [u.address] })).toBe(1n);
    }
    for (const u of absent)
      expect(await client.readContract({ address: contract, abi: CosmicONFT721Abi, functionName: "balanceOf", args: [u.address] })).toBe(0n);
    const mints = await client.getLogs({
      address: contract,
      event: getAbiItem({ abi: CosmicONFT721Abi, name: "Transfer" }),
      args: { from: zeroAddress },
      fromBlock: 0n,
    });
    expect(mints).toHaveLength(30);
    expect(new Set(mints.map((l) => l.args.tokenId)).size).toBe(30);
    const mintTx = new Map(mints.map((l) => [l.args.tokenId!.toString(), l.transactionHash]));

    // The database links every token to its event and attendee, with the real mint transaction.
    const rows = await t.deps.store.db.select().from(eventParticipants).where(eq(eventParticipants.eventId, event.id));
    const minted = rows.filter((p) => p.distributionStatus === "minted");
    expect(minted).toHaveLength(30);
    for (const p of minted) expect(p.txHash).toBe(mintTx.get(p.tokenId!));

    // The API links a minted token back to its event and attendee.
    const link = (await (await t.request(`/events/tokens/${chain.chainId}/${minted[0]!.tokenId}`)).json()) as any;
    expect(link).toMatchObject({ address: minted[0]!.address, tokenId: minted[0]!.tokenId, txHash: minted[0]!.txHash, event: { id: event.id } });
    expect((await t.request(`/events/tokens/${chain.chainId}/1`)).status).toBe(404);

    // In the index: each attendee owns exactly one token of the collection, the derived one.
    await waitForHead(ponder!, devnet.deployments);
    const tokens = await indexed!.db
      .select()
      .from(indexedTables.token)
      .where(eq(indexedTables.token.contract, contract.toLowerCase() as Address));
    expect(tokens).toHaveLength(30);
    for (const u of attendees) {
      const owned = tokens.filter((tk) => getAddress(tk.owner) === u.address);
      expect(owned.map((tk) => tk.tokenId)).toEqual([eventTokenId(chain.eid, event.id, u.address)]);
    }

    // Counts and report.
    const details = (await (await t.request(`/events/${event.id}`)).json()) as { counts: Record<string, number> };
    expect(details.counts).toEqual({ registered: 50, attended: 30, minted: 30 });
    const report = (await (await t.request(`/events/${event.id}/report`, { headers: bearer(org.token) })).json()) as any;
    expect(report.totals).toMatchObject({ capacity: 50, registered: 50, attended: 30, attendanceRate: 0.6, minted: 30, pending: 0, failed: 0 });
    expect(report.transactions.reduce((n: number, x: { tokens: number }) => n + x.tokens, 0)).toBe(30);
    for (const p of report.participants.filter((x: any) => x.distributionStatus === "minted")) expect(p.txHash).toBe(mintTx.get(p.tokenId));
    const csv = await (await t.request(`/events/${event.id}/report?format=csv`, { headers: bearer(org.token) })).text();
    expect(csv.trim().split("\r\n")).toHaveLength(51);

    // Running it again mints nothing.
    const again = (await (await t.request(`/events/${event.id}/distribute`, { method: "POST", headers: bearer(org.token) })).json()) as { job: { id: string } };
    await waitFor(
      async () => ((await (await t.request(`/jobs/${again.job.id}`, { headers: bearer(org.token) })).json()) as { status: string }).status === "completed",
      30_000,
      "second job",
    );
    const second: any = await (await t.request(`/jobs/${again.job.id}`, { headers: bearer(org.token) })).json();
    expect(second.result).toMatchObject({ mintedNow: 0, batches: 0 });
    expect(
      await client.getLogs({ address: contract, event: getAbiItem({ abi: CosmicONFT721Abi, name: "Transfer" }), args: { from: zeroAddress }, fromBlock: 0n }),
    ).toHaveLength(30);
  });
});

function databaseUrlOf(app: EventsApp): string {
  const url = app.databaseUrl;
  if (!url) throw new Error("the events app runs on PGlite: no database URL for the child");
  return url;
}

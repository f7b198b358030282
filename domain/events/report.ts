/**
 * The event report (the seed's generate-event-report): registrations, attendance rate, check-in
 * times, distribution results with tx hashes. Served by GET /events/:id/report (JSON or CSV) and
 * snapshotted by the generate-event-report job.
 */
import type { OffchainDb } from "../../offchain/store.js";
import { type EventRow, listParticipants } from "./store.js";

export type ReportParticipant = {
  address: string;
  registeredAt: string;
  attendedAt: string | null;
  verifiedBy: string | null;
  distributionStatus: string;
  tokenId: string | null;
  txHash: string | null;
  mintedAt: string | null;
  error: string | null;
};

export type EventReport = {
  event: {
    id: string;
    name: string;
    organizer: string;
    startsAt: string;
    endsAt: string;
    capacity: number;
    collection: string;
    chainId: number;
    contract: string;
    status: string;
  };
  generatedAt: string;
  totals: { capacity: number; registered: number; attended: number; attendanceRate: number; minted: number; pending: number; failed: number };
  checkIns: { first: string | null; last: string | null; perHour: { hour: string; count: number }[] };
  transactions: { txHash: string; tokens: number }[];
  participants: ReportParticipant[];
};

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export async function buildReport(db: OffchainDb, event: EventRow): Promise<EventReport> {
  const rows = await listParticipants(db, event.id);
  const participants: ReportParticipant[] = rows.map((p) => ({
    address: p.address,
    registeredAt: p.registeredAt.toISOString(),
    attendedAt: iso(p.attendedAt),
    verifiedBy: p.verifiedBy,
    // Registered but absent people are "not_attended", not "none".
    distributionStatus: p.attendedAt ? (p.distributionStatus === "none" ? "pending" : p.distributionStatus) : "not_attended",
    tokenId: p.tokenId,
    txHash: p.txHash,
    mintedAt: iso(p.mintedAt),
    error: p.distributionError,
  }));
  const checkIns = rows.flatMap((p) => (p.attendedAt ? [p.attendedAt.getTime()] : [])).sort((a, b) => a - b);
  const perHour = new Map<string, number>();
  for (const t of checkIns) {
    const hour = new Date(Math.floor(t / 3_600_000) * 3_600_000).toISOString();
    perHour.set(hour, (perHour.get(hour) ?? 0) + 1);
  }
  const txs = new Map<string, number>();
  for (const p of participants) if (p.txHash && p.distributionStatus === "minted") txs.set(p.txHash, (txs.get(p.txHash) ?? 0) + 1);
  const attended = checkIns.length;
  const count = (status: string) => participants.filter((p) => p.distributionStatus === status).length;
  return {
    event: {
      id: event.id,
      name: event.name,
      organizer: event.organizer,
      startsAt: event.startsAt.toISOString(),
      endsAt: event.endsAt.toISOString(),
      capacity: event.capacity,
      collection: event.collection,
      chainId: event.chainId,
      contract: event.contract,
      status: event.status,
    },
    generatedAt: new Date().toISOString(),
    totals: {
      capacity: event.capacity,
      registered: rows.length,
      attended,
      attendanceRate: rows.length === 0 ? 0 : Math.round((attended / rows.length) * 10_000) / 10_000,
      minted: count("minted"),
      pending: count("pending") + count("sending"),
      failed: count("failed"),
    },
    checkIns: {
      first: checkIns.length ? new Date(checkIns[0]!).toISOString() : null,
      last: checkIns.length ? new Date(checkIns.at(-1)!).toISOString() : null,
      perHour: [...perHour].map(([hour, c]) => ({ hour, count: c })),
    },
    transactions: [...txs].map(([txHash, tokens]) => ({ txHash, tokens })),
    participants,
  };
}

const CSV_COLUMNS = ["address", "registeredAt", "attendedAt", "verifiedBy", "distributionStatus", "tokenId", "txHash", "mintedAt", "error"] as const;

/** RFC 4180: quote fields holding a comma, quote or newline; neutralise spreadsheet formulas. */
function csvField(value: string | null): string {
  if (value === null) return "";
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function reportCsv(report: EventReport): string {
  const lines = [CSV_COLUMNS.join(",")];
  for (const p of report.participants) lines.push(CSV_COLUMNS.map((c) => csvField(p[c])).join(","));
  return `${lines.join("\r\n")}\r\n`;
}

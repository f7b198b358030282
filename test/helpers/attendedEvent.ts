/** An event whose attendees all checked in, written straight to the off-chain store: what a distribution job starts from. */
import { randomUUID } from "node:crypto";
import { getAddress } from "viem";
import type { OffchainDb } from "../../offchain/store.js";
import { eventParticipants, events } from "../../offchain/tables/events.js";

export async function seedAttendedEvent(
  db: OffchainDb,
  options: { organizer: string; chain: { chainId: number; eid: number }; contract: string; attendees: string[]; name: string },
): Promise<string> {
  const eventId = randomUUID();
  const now = new Date();
  const n = options.attendees.length;
  await db.insert(events).values({
    id: eventId,
    organizer: getAddress(options.organizer),
    name: options.name,
    description: "",
    location: "",
    startsAt: now,
    endsAt: now,
    registrationOpensAt: now,
    registrationClosesAt: now,
    capacity: n,
    registered: n,
    collection: "cosmic",
    chainId: options.chain.chainId,
    contract: options.contract,
    eid: options.chain.eid,
    status: "active",
  });
  // In slices: one INSERT per 1,000 attendees keeps each statement's parameters bounded.
  for (let i = 0; i < n; i += 1000)
    await db.insert(eventParticipants).values(
      options.attendees.slice(i, i + 1000).map((address) => ({
        eventId,
        address,
        ticketId: randomUUID(),
        attendedAt: now,
        verifiedBy: options.name,
        distributionStatus: "none" as const,
      })),
    );
  return eventId;
}

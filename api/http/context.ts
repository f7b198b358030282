/** Types shared by every route: the Hono env (context variables) and the authenticated principal. */
import type { Config } from "../../infra/config.js";
import type { Logger } from "../../infra/logger.js";
import type { KeyValueStore } from "../../infra/redis.js";
import type { OffchainStore } from "../../offchain/store.js";
import type { AuthService } from "../auth/service.js";
import type { ServerSigners } from "../../chain/serverSigners.js";
import type { IndexerSetup } from "../../indexer/setup.js";
import type { IndexedDb } from "../indexed/db.js";
import type { NftSettings } from "../nfts/settings.js";

export const ROLES = ["user", "organizer", "minter", "webhooks", "admin"] as const;
export type Role = (typeof ROLES)[number];

export type Principal =
  | { kind: "user"; address: `0x${string}`; roles: Role[]; sessionId: string }
  | { kind: "apiKey"; apiKeyId: string; name: string; roles: Role[] };

/** What every handler can reach through `c.get("deps")`. */
export type RequestDeps = {
  config: Config;
  store: OffchainStore;
  kv: KeyValueStore;
  logger: Logger;
  auth: AuthService;
  /** Chains and collection deployments; absent when none is configured. */
  network?: IndexerSetup;
  /** Read access to the indexed tables; absent when the API runs without an index. */
  indexed?: IndexedDb;
  /** The server's transaction signers (minter key); absent when no key is configured. */
  signers?: ServerSigners;
  /** NFT/metadata/bridge settings (api/nfts/settings.ts). */
  nft: NftSettings;
};

export type AppEnv = {
  Variables: {
    requestId: string;
    deps: RequestDeps;
    /** Request-scoped child logger (carries the request id). */
    log: Logger;
    /** Set by requireAuth / requireRole. */
    principal: Principal;
  };
};

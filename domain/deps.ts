/** What the services receive: the process's configuration, stores, chains and settings, built once by app/deps.ts. */
import type { ServerSigners } from "../chain/serverSigners.js";
import type { IndexerSetup } from "../indexer/setup.js";
import type { Config } from "../infra/config/index.js";
import type { Logger } from "../infra/logger.js";
import type { KeyValueStore } from "../infra/redis.js";
import type { OffchainStore } from "../offchain/store.js";
import type { IndexedDb } from "../read/db.js";
import type { AuthService } from "./auth/service.js";
import type { BridgeSettings } from "../infra/config/bridge.js";
import type { NftSettings } from "../infra/config/nfts.js";

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
  /** NFT metadata settings (infra/config/nfts.ts). */
  nft: NftSettings;
  /** Bridge settings (infra/config/bridge.ts). */
  bridge: BridgeSettings;
};

/** What services outside a request use (job workers, followers): the request's dependencies without auth. */
export type ServiceDeps = Omit<RequestDeps, "auth">;

/** One error base: every error class of the project is a CosmicError with a kind and a code. */
import { describe, expect, it } from "vitest";
import { DeploymentsFileError } from "../../chain/deployments.js";
import { PathwayError } from "../../chain/layerzero/errors.js";
import { InvalidPacketError } from "../../chain/layerzero/lzPacket.js";
import { InvalidOptionsError } from "../../chain/layerzero/options.js";
import { MetadataFetchError } from "../../chain/metadata/fetch.js";
import { MintRejectedError } from "../../chain/minter.js";
import { TransactionRevertedError } from "../../chain/signer.js";
import { DevnetConfigError } from "../../devnet/anvil.js";
import { DvnExecuteFailedError } from "../../devnet/layerzero/dvnVerifier.js";
import { IndexerConfigError } from "../../indexer/setup.js";
import { PermanentJobError } from "../../jobs/types.js";
import { MigrationError } from "../../offchain/migrate.js";
import { ConfigError } from "../../infra/config/parse.js";
import { CosmicError, ServiceError, conflict, dependencyDown, notFound } from "../../infra/errors.js";

const tx = { label: "mint", chainId: 1, hash: "0x01" } as never;

describe("CosmicError", () => {
  it("every class carries its kind, code and cause", () => {
    const cause = new Error("behind it");
    const cases: [CosmicError, string, string][] = [
      [new ConfigError("X: bad"), "config", "CONFIG_INVALID"],
      [new IndexerConfigError("no file"), "config", "INDEXER_CONFIG_INVALID"],
      [new DeploymentsFileError("bad json"), "config", "DEPLOYMENTS_FILE_INVALID"],
      [new DevnetConfigError("--port"), "config", "DEVNET_CONFIG_INVALID"],
      [new MigrationError("checksum", { cause }), "internal", "MIGRATION_FAILED"],
      [new InvalidPacketError("short"), "invalid", "INVALID_PACKET"],
      [new InvalidOptionsError("type 9"), "invalid", "INVALID_OPTIONS"],
      [new PathwayError("NO_PEER", "no peer", { cause }), "unprocessable", "NO_PEER"],
      [new MintRejectedError("NotMinter", { cause }), "unprocessable", "MINT_REJECTED"],
      [new TransactionRevertedError(tx), "unprocessable", "TRANSACTION_REVERTED"],
      [new MetadataFetchError("TIMEOUT", "slow host"), "unavailable", "TIMEOUT"],
      [new MetadataFetchError("SSRF_BLOCKED", "private address"), "unprocessable", "SSRF_BLOCKED"],
      [new PermanentJobError("no such event"), "unprocessable", "JOB_CANNOT_SUCCEED"],
      [new DvnExecuteFailedError("quorum"), "unavailable", "DVN_EXECUTE_FAILED"],
    ];
    for (const [error, kind, code] of cases) {
      expect(error).toBeInstanceOf(CosmicError);
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(ServiceError);
      expect([error.name, error.kind, error.code]).toEqual([error.constructor.name, kind, code]);
    }
    expect(new MigrationError("m", { cause }).cause).toBe(cause);
    expect(new PathwayError("NO_PEER", "m", { cause }).cause).toBe(cause);
  });

  it("a service's answers are ServiceErrors (what a route may show its client)", () => {
    const cause = new Error("ECONNREFUSED");
    expect([notFound("A", "a").kind, conflict("B", "b").kind, dependencyDown("C", "c", cause).kind]).toEqual(["not_found", "conflict", "unavailable"]);
    expect(dependencyDown("C", "c", cause)).toBeInstanceOf(ServiceError);
    expect(dependencyDown("C", "c", cause).cause).toBe(cause);
    expect("cause" in notFound("A", "a")).toBe(false);
  });
});

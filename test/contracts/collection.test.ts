/** CosmicONFT721 minting rules on a one-chain devnet: batch mints, minter role, id ranges, idempotent distribution. */
import { type Address, BaseError, ContractFunctionRevertedError, getAddress, parseEventLogs } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CosmicONFT721Abi } from "../../abis/CosmicONFT721Abi.js";
import { tokenIdInRange } from "../../chain/onft.js";
import type { Devnet } from "../../devnet/start.js";
import { accounts, chainAt, collectionOn, deployer, signerFor, startTestDevnet } from "../helpers/devnet.js";

let devnet: Devnet;
beforeAll(async () => {
  devnet = await startTestDevnet({ chains: 1 });
});
afterAll(async () => {
  await devnet?.stop();
});

function revertName(error: unknown): string | undefined {
  if (!(error instanceof BaseError)) return undefined;
  const revert = error.walk((e) => e instanceof ContractFunctionRevertedError);
  return revert instanceof ContractFunctionRevertedError ? revert.data?.errorName : undefined;
}

describe("CosmicONFT721 minting", () => {
  it("mints 200 tokens to many recipients in one mintBatch transaction", async () => {
    const chain = chainAt(devnet.deployments, 0);
    const cosmic = collectionOn(devnet.deployments, "cosmic", chain.chainId);
    const recipients: Address[] = Array.from({ length: 200 }, (_, i) => accounts[1 + (i % 8)]!.address);
    const ids = Array.from({ length: 200 }, (_, i) => tokenIdInRange(chain.eid, 1000n + BigInt(i)));
    const signer = signerFor(chain, deployer.privateKey);
    const receipt = await signer.write({ address: cosmic.address, abi: CosmicONFT721Abi, functionName: "mintBatch", args: [recipients, ids] });
    const transfers = parseEventLogs({ abi: CosmicONFT721Abi, eventName: "Transfer", logs: receipt.logs });
    expect(transfers).toHaveLength(200);
    expect(transfers.map((t) => t.args.tokenId)).toEqual(ids);
    const owner = await signer.publicClient.readContract({ address: cosmic.address, abi: CosmicONFT721Abi, functionName: "ownerOf", args: [ids[199]!] });
    expect(owner).toBe(getAddress(recipients[199]!));
  });

  it("reverts a mint by a non-minter (NotMinter) and an id outside the chain's range (TokenIdOutOfRange)", async () => {
    const chain = chainAt(devnet.deployments, 0);
    const cosmic = collectionOn(devnet.deployments, "cosmic", chain.chainId);
    const stranger = signerFor(chain, accounts[4]!.privateKey);
    await expect(
      stranger.write({ address: cosmic.address, abi: CosmicONFT721Abi, functionName: "mint", args: [stranger.address, tokenIdInRange(chain.eid, 1n)] }),
    ).rejects.toSatisfy((error) => revertName(error) === "NotMinter");

    const minter = signerFor(chain, deployer.privateKey);
    const foreignId = tokenIdInRange(chain.eid + 1, 1n);
    await expect(minter.write({ address: cosmic.address, abi: CosmicONFT721Abi, functionName: "mint", args: [minter.address, foreignId] })).rejects.toSatisfy(
      (error) => revertName(error) === "TokenIdOutOfRange",
    );
    await expect(minter.write({ address: cosmic.address, abi: CosmicONFT721Abi, functionName: "mint", args: [minter.address, 5n] })).rejects.toSatisfy(
      (error) => revertName(error) === "TokenIdOutOfRange",
    );
  });

  it("distribute skips ids already issued, so a resumed batch mints nothing twice", async () => {
    const chain = chainAt(devnet.deployments, 0);
    const cosmic = collectionOn(devnet.deployments, "cosmic", chain.chainId);
    const minter = signerFor(chain, deployer.privateKey);
    const to = accounts[5]!.address;
    const ids = [1n, 2n, 3n, 4n].map((n) => tokenIdInRange(chain.eid, 5000n + n));
    await minter.write({ address: cosmic.address, abi: CosmicONFT721Abi, functionName: "mint", args: [to, ids[1]!] });
    const receipt = await minter.write({ address: cosmic.address, abi: CosmicONFT721Abi, functionName: "distribute", args: [ids.map(() => to), ids] });
    const minted = parseEventLogs({ abi: CosmicONFT721Abi, eventName: "Transfer", logs: receipt.logs }).map((t) => t.args.tokenId);
    expect(minted).toEqual([ids[0], ids[2], ids[3]]);
    const again = await minter.write({ address: cosmic.address, abi: CosmicONFT721Abi, functionName: "distribute", args: [ids.map(() => to), ids] });
    expect(parseEventLogs({ abi: CosmicONFT721Abi, eventName: "Transfer", logs: again.logs })).toHaveLength(0);
    // mintBatch, unlike distribute, refuses an id issued before.
    await expect(minter.write({ address: cosmic.address, abi: CosmicONFT721Abi, functionName: "mintBatch", args: [[to], [ids[0]!]] })).rejects.toSatisfy(
      (error) => revertName(error) === "TokenAlreadyIssued",
    );
  });
});

/**
 * Server-side mints on a CosmicONFT721 through a chain signer (nonce manager, gas cap, receipts):
 * `mint` for one token, `mintBatch` for several. Reused by the NFT API (POST /nfts) and by the
 * events service (which calls the contract's `distribute` through the same signers).
 */
import { type Address, type Hash, BaseError, ContractFunctionRevertedError, getAddress, parseEventLogs, zeroAddress } from "viem";
import { CosmicONFT721Abi } from "../abis/CosmicONFT721Abi.js";
import type { ChainSigner } from "./signer.js";
import { CosmicError } from "../infra/errors.js";

/** Most tokens in one mintBatch (the contract test covers 200 within the gas cap). */
export const MAX_BATCH = 200;

export type MintResult = { txHash: Hash; blockNumber: bigint; tokenIds: bigint[]; recipients: Address[] };

/** The contract refused the mint; `reason` is the custom error name (e.g. TokenAlreadyIssued, NotMinter, TokenIdOutOfRange). */
export class MintRejectedError extends CosmicError {
  override name = "MintRejectedError";
  constructor(
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super("unprocessable", "MINT_REJECTED", `mint rejected by the contract: ${reason}`, options);
  }
}

/** Decoded custom error name of a reverted call, if viem could decode one. */
export function revertReason(error: unknown): string | undefined {
  if (!(error instanceof BaseError)) return undefined;
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
  if (reverted instanceof ContractFunctionRevertedError) return reverted.data?.errorName ?? reverted.reason ?? "reverted";
  return undefined;
}

/**
 * Mints `tokenIds[i]` to `recipients[i]`. Simulation runs first (inside signer.write), so a contract
 * refusal throws MintRejectedError before anything is sent.
 */
export async function mintTokens(
  signer: ChainSigner,
  args: { contract: Address; recipients: Address[]; tokenIds: bigint[]; onSent?: (hash: Hash) => unknown },
): Promise<MintResult> {
  const { contract, tokenIds } = args;
  const recipients = args.recipients.map((r) => getAddress(r));
  if (recipients.length === 0 || recipients.length !== tokenIds.length) throw new RangeError("recipients and tokenIds must be non-empty and of equal length");
  if (recipients.length > MAX_BATCH) throw new RangeError(`at most ${MAX_BATCH} tokens per mint`);
  let receipt;
  try {
    receipt =
      recipients.length === 1
        ? await signer.write({
            label: `ONFT.mint ${tokenIds[0]}`,
            address: contract,
            abi: CosmicONFT721Abi,
            functionName: "mint",
            args: [recipients[0]!, tokenIds[0]!],
            onSent: args.onSent,
          })
        : await signer.write({
            label: `ONFT.mintBatch ×${tokenIds.length}`,
            address: contract,
            abi: CosmicONFT721Abi,
            functionName: "mintBatch",
            args: [recipients, tokenIds],
            onSent: args.onSent,
          });
  } catch (error) {
    const reason = revertReason(error);
    if (reason) throw new MintRejectedError(reason, { cause: error });
    throw error;
  }
  // What the chain says was minted (Transfer from 0x0), in log order.
  const minted = parseEventLogs({ abi: CosmicONFT721Abi, eventName: "Transfer", logs: receipt.logs }).filter(
    (l) => getAddress(l.address) === getAddress(contract) && l.args.from === zeroAddress,
  );
  return {
    txHash: receipt.transactionHash,
    blockNumber: receipt.blockNumber,
    tokenIds: minted.map((l) => l.args.tokenId),
    recipients: minted.map((l) => getAddress(l.args.to)),
  };
}

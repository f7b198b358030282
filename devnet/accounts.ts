/**
 * Anvil's default funded accounts (derived from its public test mnemonic "test test … junk").
 * These keys are public knowledge and only ever hold devnet ether.
 */
import type { Hex } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { DVN_SIGNER_INDEX } from "./options.js";

export const ANVIL_MNEMONIC = "test test test test test test test test test test test junk";

export type DevnetAccount = { address: `0x${string}`; privateKey: Hex };

export function devnetAccounts(count = 10): DevnetAccount[] {
  return Array.from({ length: count }, (_, addressIndex) => devnetAccount(addressIndex));
}

/** The account at `addressIndex` of anvil's mnemonic (worker keys live past the 10 funded ones). */
export function devnetAccount(addressIndex: number): DevnetAccount {
  const account = mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex });
  const privateKey = account.getHdKey().privateKey;
  if (!privateKey) throw new Error("HD key without private key");
  return { address: account.address, privateKey: `0x${Buffer.from(privateKey).toString("hex")}` as Hex };
}

/** Roles of the devnet accounts (defined in options.ts, which the CLI loads first). */
export { COMMITTER_INDEX, DEPLOYER_INDEX, DVN_ADMIN_INDEX, DVN_SIGNER_INDEX, EXECUTOR_INDEX } from "./options.js";

export const dvnSignerAccount = (dvn: number, signer: number) => devnetAccount(DVN_SIGNER_INDEX + 10 * dvn + signer);

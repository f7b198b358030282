/**
 * Anvil's default funded accounts (derived from its public test mnemonic "test test … junk").
 * These keys are public knowledge and only ever hold devnet ether.
 */
import type { Hex } from "viem";
import { mnemonicToAccount } from "viem/accounts";

export const ANVIL_MNEMONIC = "test test test test test test test test test test test junk";

export type DevnetAccount = { address: `0x${string}`; privateKey: Hex };

export function devnetAccounts(count = 10): DevnetAccount[] {
  return Array.from({ length: count }, (_, addressIndex) => {
    const account = mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex });
    const privateKey = account.getHdKey().privateKey;
    if (!privateKey) throw new Error("HD key without private key");
    return { address: account.address, privateKey: `0x${Buffer.from(privateKey).toString("hex")}` as Hex };
  });
}

/** Roles of the default accounts on the devnet (defined in options.ts, which the CLI loads first). */
export { DEPLOYER_INDEX, RELAYER_INDEX } from "./options.js";

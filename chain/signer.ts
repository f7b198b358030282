/**
 * The one way the server sends transactions on a chain (DESIGN.md §4): a viem wallet client whose
 * account has a nonce manager (concurrent sends never collide), a gas cap, receipt confirmation, and
 * a record of every transaction sent. The private key stays inside the viem account: it is never
 * logged, returned or put in an error.
 */
import {
  type Abi,
  type Account,
  type Address,
  type Chain,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type Hash,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
} from "viem";
import { createNonceManager, jsonRpc } from "viem/nonce";
import { privateKeyToAccount } from "viem/accounts";

export type SentTransaction = {
  chainId: number;
  hash: Hash;
  /** What was sent, for logs and audits: `deploy Name` or `Contract.fn`. */
  label: string;
  to: Address | null;
  status?: "success" | "reverted";
  blockNumber?: bigint;
};

export class TransactionRevertedError extends Error {
  override name = "TransactionRevertedError";
  constructor(
    readonly transaction: SentTransaction,
    options?: ErrorOptions,
  ) {
    super(`${transaction.label} reverted on chain ${transaction.chainId} (tx ${transaction.hash})`, options);
  }
}

export type SignerOptions = {
  chainId: number;
  rpcUrl: string;
  privateKey: Hex;
  /** Upper bound on gas for any single transaction. */
  gasCap?: bigint;
  /** Receipt polling interval in ms (anvil answers immediately; real chains want ~1 s). */
  pollingInterval?: number;
  /** Called for every transaction sent and confirmed (no secrets in it). */
  onTransaction?: (tx: SentTransaction) => void;
};

export function localChain(chainId: number, rpcUrl: string, name = `chain-${chainId}`): Chain {
  return defineChain({
    id: chainId,
    name,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
}

export type ChainSigner = ReturnType<typeof createChainSigner>;

export function createChainSigner(options: SignerOptions) {
  const chain = localChain(options.chainId, options.rpcUrl);
  // One nonce manager per signer, not viem's process-wide `nonceManager`: that one remembers the last
  // nonce per (address, chainId) forever, so a devnet restarted in the same process (same chain ids,
  // fresh state) would get nonces far in the future and its transactions would never be mined.
  const account: Account = privateKeyToAccount(options.privateKey, { nonceManager: createNonceManager({ source: jsonRpc() }) });
  const transport = http(options.rpcUrl, { batch: false, retryCount: 2 });
  const pollingInterval = options.pollingInterval ?? 50;
  const publicClient: PublicClient = createPublicClient({ chain, transport, pollingInterval });
  const walletClient = createWalletClient({ chain, transport, account, pollingInterval });
  const gasCap = options.gasCap ?? 25_000_000n;
  const sent: SentTransaction[] = [];

  async function confirm(record: SentTransaction): Promise<TransactionReceipt> {
    const receipt = await publicClient.waitForTransactionReceipt({ hash: record.hash, pollingInterval });
    record.status = receipt.status;
    record.blockNumber = receipt.blockNumber;
    options.onTransaction?.(record);
    if (receipt.status !== "success") throw new TransactionRevertedError(record);
    return receipt;
  }

  return {
    chainId: options.chainId,
    address: account.address,
    publicClient,
    walletClient,
    /** Every transaction this signer sent, in order. */
    sent,

    async deploy(params: { label: string; abi: Abi; bytecode: Hex; args?: readonly unknown[] }): Promise<{ address: Address; receipt: TransactionReceipt }> {
      const hash = await walletClient.deployContract({
        abi: params.abi,
        bytecode: params.bytecode,
        args: params.args ?? [],
        gas: gasCap,
      } as Parameters<typeof walletClient.deployContract>[0]);
      const record: SentTransaction = { chainId: options.chainId, hash, label: `deploy ${params.label}`, to: null };
      sent.push(record);
      const receipt = await confirm(record);
      if (!receipt.contractAddress) throw new TransactionRevertedError(record);
      return { address: receipt.contractAddress, receipt };
    },

    /** Estimates (simulating the call), sends with 20 % gas headroom under the cap, confirms. */
    async write<
      const abi extends Abi,
      functionName extends ContractFunctionName<abi, "nonpayable" | "payable">,
      args extends ContractFunctionArgs<abi, "nonpayable" | "payable", functionName>,
    >(params: {
      label?: string;
      address: Address;
      abi: abi;
      functionName: functionName;
      args: args;
      value?: bigint;
      /** Skip estimation and send with the gas cap (to put a reverting call on chain on purpose). */
      skipSimulation?: boolean;
      /** Gas limit to send with, when the caller has already estimated (skips estimation). */
      gas?: bigint;
    }): Promise<TransactionReceipt> {
      const request = {
        address: params.address,
        abi: params.abi,
        functionName: params.functionName,
        args: params.args,
        value: params.value,
        account,
        chain,
      } as never;
      // Estimation runs the call first, so a revert surfaces with its decoded reason before any gas is spent.
      const estimated = params.gas ?? (params.skipSimulation ? gasCap : await publicClient.estimateContractGas(request));
      if (estimated > gasCap) throw new Error(`${String(params.functionName)} needs ${estimated} gas, above the cap of ${gasCap}`);
      const withHeadroom = params.gas !== undefined ? params.gas : (estimated * 12n) / 10n;
      const gas = withHeadroom > gasCap ? gasCap : withHeadroom;
      const hash = await walletClient.writeContract({ ...(request as object), gas } as never);
      const record: SentTransaction = {
        chainId: options.chainId,
        hash,
        label: params.label ?? String(params.functionName),
        to: params.address,
      };
      sent.push(record);
      return await confirm(record);
    },
  };
}


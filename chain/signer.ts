/**
 * The one way the server sends transactions on a chain: a viem wallet client whose
 * account has a nonce manager (concurrent sends never collide), a gas cap, receipt confirmation, and
 * a record of every transaction sent. The private key stays inside the viem account: it is never
 * logged, returned or put in an error.
 *
 * Nonces: viem's nonce manager remembers the last nonce it handed out and never goes below it
 * (`max(chain pending count, last + 1)`). After an `evm_revert`/`evm_snapshot` restore (or any
 * other rewind of the chain) that memory is ahead of the chain: the next transaction gets a nonce
 * with a gap below it, and a node keeps such a transaction queued forever ("never mined"). So
 * `write`/`deploy` reset the manager whenever none of this signer's sends is between nonce
 * assignment and the node's answer: the nonce then comes from the chain's pending count; the
 * manager's memory only serves concurrent sends. `resetNonce()` does the same by hand. Two signers
 * (or processes) sending concurrently with one key can still collide: that fails with a node error
 * (nonce too low / replacement underpriced), never a silent hang.
 *
 * Confirmation: a transaction that cannot be mined (a nonce gap nothing of ours will fill, or a
 * transaction the node dropped) fails with a `TransactionStuckError` within about two
 * `stuckCheckMs`, instead of a receipt timeout minutes later; a transaction queued behind a gap is
 * removed from the node's pool when the node allows it (anvil's `anvil_dropTransaction`), so it
 * cannot be mined later behind the caller's back.
 */
import { AsyncLocalStorage } from "node:async_hooks";
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
  TransactionNotFoundError,
  WaitForTransactionReceiptTimeoutError,
} from "viem";
import { type NonceManager, createNonceManager, jsonRpc } from "viem/nonce";
import { privateKeyToAccount } from "viem/accounts";
import { getTransactionCount } from "viem/actions";
import { CosmicError } from "../infra/errors.js";

export type SentTransaction = {
  chainId: number;
  hash: Hash;
  /** What was sent, for logs and audits: `deploy Name` or `Contract.fn`. */
  label: string;
  to: Address | null;
  status?: "success" | "reverted";
  blockNumber?: bigint;
};

export class TransactionRevertedError extends CosmicError {
  override name = "TransactionRevertedError";
  constructor(
    readonly transaction: SentTransaction,
    options?: ErrorOptions,
  ) {
    super("unprocessable", "TRANSACTION_REVERTED", `${transaction.label} reverted on chain ${transaction.chainId} (tx ${transaction.hash})`, options);
  }
}

/** Why a sent transaction will not be mined (or was not within the receipt timeout). */
export type StuckReason =
  /** Its nonce is above the account's and no transaction of this signer in flight fills the gap. */
  | "nonce-gap"
  /** The node no longer knows it (dropped from the pool, e.g. by an `evm_revert`) or another transaction took its nonce. */
  | "dropped"
  /** Its max fee per gas is below the base fee of the next block. */
  | "underpriced"
  /** Still pending at the receipt timeout, cause not identified. */
  | "timeout";

export class TransactionStuckError extends CosmicError {
  override name = "TransactionStuckError";
  constructor(
    readonly transaction: SentTransaction,
    readonly reason: StuckReason,
    readonly detail: {
      nonce?: number;
      /** The account's nonce on chain (`latest`) when the error was raised. */
      accountNonce?: number;
      /** True when the node removed the transaction from its pool on our request (it can no longer be mined). */
      droppedFromPool?: boolean;
      maxFeePerGas?: bigint;
      baseFee?: bigint;
    } = {},
    options?: ErrorOptions,
  ) {
    super(
      "unavailable",
      "TRANSACTION_STUCK",
      `${transaction.label} on chain ${transaction.chainId} will not be mined (${reason}): tx ${transaction.hash}` +
        (detail.nonce !== undefined ? `, nonce ${detail.nonce}` : "") +
        (detail.accountNonce !== undefined ? `, account nonce ${detail.accountNonce}` : "") +
        (detail.maxFeePerGas !== undefined ? `, max fee ${detail.maxFeePerGas}` : "") +
        (detail.baseFee !== undefined ? `, base fee ${detail.baseFee}` : "") +
        (detail.droppedFromPool ? "; removed from the node's pool" : ""),
      options,
    );
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
  /** How often a transaction waiting for its receipt is checked for a nonce gap or a drop, in ms. Default 2,000. */
  stuckCheckMs?: number;
  /** Give up waiting for a receipt after this long (TransactionStuckError with a diagnosed reason). Default 180,000 (viem's). */
  receiptTimeoutMs?: number;
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
  const inner = createNonceManager({ source: jsonRpc() });
  /** Sends of this signer between nonce assignment and the node's answer (hash or error). */
  let sending = 0;
  /** Nonces of this signer's transactions accepted by the node and not yet confirmed or given up. */
  const inFlight = new Set<number>();
  const sendContext = new AsyncLocalStorage<{ nonce?: number }>();
  /**
   * Nonces handed to sends made straight through `walletClient` (outside write/deploy), whose end
   * the signer does not see: one counts as answered once the chain's pending count passed it, or
   * when viem reports its send failed (reset with its nonce).
   */
  const outside = new Set<number>();
  const nonceManager: NonceManager = {
    async consume(parameters) {
      const context = sendContext.getStore();
      if (context && sending <= 1) {
        if (outside.size > 0) {
          const pending = await getTransactionCount(parameters.client, { address: parameters.address, blockTag: "pending" });
          for (const nonce of outside) if (nonce < pending) outside.delete(nonce);
        }
        // Only this send is being assigned a nonce: take it from the chain, not from memory.
        if (outside.size === 0) inner.reset({ address: parameters.address, chainId: parameters.chainId });
      }
      const nonce = await inner.consume(parameters);
      if (context) context.nonce = nonce;
      else outside.add(nonce);
      return nonce;
    },
    increment: (parameters) => inner.increment(parameters),
    get: (parameters) => inner.get(parameters),
    reset: (parameters) => {
      if (parameters.nonce !== undefined) outside.delete(parameters.nonce);
      inner.reset(parameters);
    },
  };
  const account: Account = privateKeyToAccount(options.privateKey, { nonceManager });
  const transport = http(options.rpcUrl, { batch: false, retryCount: 2 });
  const pollingInterval = options.pollingInterval ?? 50;
  const publicClient: PublicClient = createPublicClient({ chain, transport, pollingInterval });
  const walletClient = createWalletClient({ chain, transport, account, pollingInterval });
  const gasCap = options.gasCap ?? 25_000_000n;
  const stuckCheckMs = options.stuckCheckMs ?? 2_000;
  const receiptTimeoutMs = options.receiptTimeoutMs ?? 180_000;
  const sent: SentTransaction[] = [];

  /** Runs one send (nonce assignment → node answer) and returns its hash and nonce. */
  async function send(fn: () => Promise<Hash>): Promise<{ hash: Hash; nonce: number | undefined }> {
    const context: { nonce?: number } = {};
    sending++;
    try {
      const hash = await sendContext.run(context, fn);
      if (context.nonce !== undefined) inFlight.add(context.nonce);
      return { hash, nonce: context.nonce };
    } finally {
      sending--;
    }
  }

  function resetNonce() {
    inner.reset({ address: account.address, chainId: options.chainId });
  }

  let automining: Promise<boolean> | undefined;
  /** Whether the node is anvil with automine on (asked once per signer). */
  function isAutominingAnvil(): Promise<boolean> {
    const request = publicClient.request as (args: { method: string; params: unknown[] }) => Promise<unknown>;
    automining ??= (async () => {
      const version = String(await request({ method: "web3_clientVersion", params: [] }));
      return version.startsWith("anvil") && (await request({ method: "anvil_getAutomine", params: [] })) === true;
    })().catch(() => false);
    return automining;
  }

  /** One look at a pending transaction: undefined when nothing is wrong (yet). */
  async function diagnose(
    record: SentTransaction,
    knownNonce: number | undefined,
    final: boolean,
  ): Promise<{ reason: StuckReason; detail: TransactionStuckError["detail"] } | undefined> {
    const [tx, accountNonce] = await Promise.all([
      publicClient.getTransaction({ hash: record.hash }).catch((error) => {
        if (error instanceof TransactionNotFoundError) return null;
        throw error;
      }),
      publicClient.getTransactionCount({ address: account.address, blockTag: "latest" }),
    ]);
    if (tx?.blockNumber != null) return undefined; // mined: the receipt is on its way
    const nonce = tx?.nonce ?? knownNonce;
    // Ready (next nonce of the account) yet still in the pool: anvil's automine can miss ready
    // transactions sent concurrently (foundry-rs/foundry#10122; seen here with parallel deployment
    // writes: a transaction pending for 180 s). On an automining anvil, mine a block to flush it.
    if (tx && nonce === accountNonce && (await isAutominingAnvil())) {
      await publicClient.request({ method: "evm_mine", params: [] } as never).catch(() => {});
      return undefined;
    }
    if (tx === null) return { reason: "dropped", detail: { nonce, accountNonce } };
    if (nonce !== undefined && nonce < accountNonce) return { reason: "dropped", detail: { nonce, accountNonce } };
    if (nonce !== undefined && nonce > accountNonce && sending === 0) {
      let covered = true;
      for (let n = accountNonce; n < nonce; n++) if (!inFlight.has(n)) covered = false;
      if (!covered) return { reason: "nonce-gap", detail: { nonce, accountNonce } };
    }
    if (!final) return undefined;
    const block = await publicClient.getBlock({ blockTag: "pending" }).catch(() => undefined);
    const maxFeePerGas = tx.maxFeePerGas ?? tx.gasPrice;
    if (block?.baseFeePerGas != null && maxFeePerGas !== undefined && maxFeePerGas < block.baseFeePerGas)
      return { reason: "underpriced", detail: { nonce, accountNonce, maxFeePerGas, baseFee: block.baseFeePerGas } };
    return { reason: "timeout", detail: { nonce, accountNonce } };
  }

  /**
   * Removes a transaction queued behind a nonce gap from the node's pool, where the node has a way
   * (anvil): `anvil_dropTransaction` only removes ready transactions, so a queued one goes with
   * `anvil_removePoolTransactions(address)`, used only when none of the account's pooled
   * transactions is ready (all of them sit behind the same gap). True when it is gone.
   */
  async function dropFromPool(hash: Hash): Promise<boolean> {
    const request = publicClient.request as (args: { method: string; params: unknown[] }) => Promise<unknown>;
    const gone = async () => (await request({ method: "eth_getTransactionByHash", params: [hash] })) === null;
    try {
      await request({ method: "anvil_dropTransaction", params: [hash] }).catch(() => {});
      if (await gone()) return true;
      const pool = (await request({ method: "txpool_content", params: [] })) as { pending?: Record<string, Record<string, unknown>> };
      const ready = Object.entries(pool.pending ?? {}).find(([address]) => address.toLowerCase() === account.address.toLowerCase())?.[1];
      if (ready && Object.keys(ready).length > 0) return false;
      await request({ method: "anvil_removePoolTransactions", params: [account.address] });
      return await gone();
    } catch {
      return false;
    }
  }

  /** Waits for the receipt, checking every `stuckCheckMs` that the transaction can still be mined. */
  async function waitMined(record: SentTransaction, nonce: number | undefined): Promise<TransactionReceipt> {
    const controller = new AbortController();
    const receipt = publicClient.waitForTransactionReceipt({ hash: record.hash, pollingInterval, timeout: receiptTimeoutMs, signal: controller.signal });
    receipt.catch(() => {}); // observed below (or abandoned once the watchdog decided)
    let timer: NodeJS.Timeout | undefined;
    const watchdog = new Promise<TransactionReceipt>((resolve, reject) => {
      // The same finding twice in a row: a concurrent send may be a moment from filling a gap.
      let previous: StuckReason | undefined;
      const started = Date.now();
      const check = async () => {
        try {
          const final = Date.now() - started + stuckCheckMs >= receiptTimeoutMs;
          // Mined, yet viem's receipt wait has not seen it: its block-number poller (shared by every
          // wait on this client) only emits numbers above the highest it saw, so after an
          // evm_revert the lower heights of the new branch go unnoticed (a 180 s receipt timeout
          // in the chaos test). The receipt is read directly.
          const mined = await publicClient.getTransactionReceipt({ hash: record.hash }).catch(() => undefined);
          if (mined) return resolve(mined);
          const found = await diagnose(record, nonce, final);
          if (found && (found.reason === previous || final)) {
            // Never mined behind the caller's back once reported failed (anvil; other nodes refuse).
            const droppedFromPool = found.reason === "nonce-gap" ? await dropFromPool(record.hash) : false;
            return reject(new TransactionStuckError(record, found.reason, { ...found.detail, droppedFromPool }));
          }
          previous = found?.reason;
        } catch {
          previous = undefined; // RPC trouble: the receipt wait reports what matters
        }
        timer = setTimeout(check, stuckCheckMs);
      };
      timer = setTimeout(check, stuckCheckMs);
    });
    try {
      const mined = await Promise.race([receipt, watchdog]);
      // viem resolves with the receipt of a transaction that replaced ours (same nonce): not ours.
      if (mined.transactionHash.toLowerCase() !== record.hash.toLowerCase())
        throw new TransactionStuckError(record, "dropped", {
          nonce,
          accountNonce: await publicClient.getTransactionCount({ address: account.address, blockTag: "latest" }).catch(() => undefined),
        });
      return mined;
    } catch (error) {
      if (error instanceof TransactionStuckError) throw error;
      if (error instanceof WaitForTransactionReceiptTimeoutError) {
        const found = await diagnose(record, nonce, true).catch(() => undefined);
        throw new TransactionStuckError(record, found?.reason ?? "timeout", found?.detail, { cause: error });
      }
      throw error;
    } finally {
      clearTimeout(timer);
      controller.abort();
      if (nonce !== undefined) inFlight.delete(nonce);
    }
  }

  async function confirm(record: SentTransaction, nonce: number | undefined): Promise<TransactionReceipt> {
    let receipt: TransactionReceipt;
    try {
      receipt = await waitMined(record, nonce);
    } catch (error) {
      // The chain did not take the nonce the manager handed out: start again from the chain.
      if (error instanceof TransactionStuckError) resetNonce();
      throw error;
    }
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
    /** Forget the remembered nonce: the next send takes the chain's pending count (after a chain rewind). */
    resetNonce,
    /** Waits for a transaction this signer sent outside `write`/`deploy` (e.g. `walletClient.sendTransaction`). */
    async confirm(hash: Hash, label = "transaction"): Promise<TransactionReceipt> {
      const record: SentTransaction = { chainId: options.chainId, hash, label, to: null };
      return await confirm(record, undefined);
    },

    async deploy(params: { label: string; abi: Abi; bytecode: Hex; args?: readonly unknown[] }): Promise<{ address: Address; receipt: TransactionReceipt }> {
      const { hash, nonce } = await send(() =>
        walletClient.deployContract({
          abi: params.abi,
          bytecode: params.bytecode,
          args: params.args ?? [],
          gas: gasCap,
        } as Parameters<typeof walletClient.deployContract>[0]),
      );
      const record: SentTransaction = { chainId: options.chainId, hash, label: `deploy ${params.label}`, to: null };
      sent.push(record);
      const receipt = await confirm(record, nonce);
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
      /** Called once the transaction is sent, before its receipt is awaited (a failure here is ignored). */
      onSent?: (hash: Hash) => unknown;
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
      const { hash, nonce } = await send(() => walletClient.writeContract({ ...(request as object), gas } as never));
      const record: SentTransaction = {
        chainId: options.chainId,
        hash,
        label: params.label ?? String(params.functionName),
        to: params.address,
      };
      sent.push(record);
      if (params.onSent)
        await Promise.resolve()
          .then(() => params.onSent!(hash))
          .catch(() => {});
      return await confirm(record, nonce);
    },
  };
}

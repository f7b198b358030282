/** Section bridge: fee quotes, prepared sends, the stuck threshold (docs/bridge.md). */
import { z } from "zod";
import { int, parseSection } from "./parse.js";

export type BridgeSettings = {
  /** A bridge in flight longer than this is reported `stuck` (and counted in the stuck gauge). */
  stuckAfterSeconds: number;
  /** A bridge's progress is `stale` when the tracker has not read its destination chain for this long. */
  progressStaleSeconds: number;
  /** How long a fee quote is cached (Redis) and announced as valid (`expiresAt`). */
  estimateTtlSeconds: number;
  /** Margin added to the quoted fee in a prepared transaction's `value`, in basis points (LayerZero refunds the excess). */
  feeMarginBps: number;
  /**
   * lzReceive gas a send carries when its collection enforces no options on the pathway (0: refuse
   * such a send with NO_EXECUTOR_OPTIONS). Collections with enforced options send none. The default
   * fits an ONFT721 receive, which mints or unlocks one token (~60-90k gas), with headroom.
   */
  defaultLzReceiveGas: number;
};

export const bridgeEnv = z.object({
  BRIDGE_STUCK_AFTER_SECONDS: int(900, 1),
  BRIDGE_PROGRESS_STALE_SECONDS: int(30, 1),
  BRIDGE_ESTIMATE_TTL_SECONDS: int(15, 1),
  BRIDGE_FEE_MARGIN_BPS: int(1000, 0),
  BRIDGE_DEFAULT_LZ_RECEIVE_GAS: int(200_000, 0),
});

export function loadBridgeSettings(env: NodeJS.ProcessEnv): BridgeSettings {
  const e = parseSection(bridgeEnv, env);
  return {
    stuckAfterSeconds: e.BRIDGE_STUCK_AFTER_SECONDS,
    progressStaleSeconds: e.BRIDGE_PROGRESS_STALE_SECONDS,
    estimateTtlSeconds: e.BRIDGE_ESTIMATE_TTL_SECONDS,
    feeMarginBps: e.BRIDGE_FEE_MARGIN_BPS,
    defaultLzReceiveGas: e.BRIDGE_DEFAULT_LZ_RECEIVE_GAS,
  };
}

/** The defaults (an empty environment through the schema): the one place they are written is `bridgeEnv`. */
export const BRIDGE_DEFAULTS: Readonly<BridgeSettings> = Object.freeze(loadBridgeSettings({}));

/** Settings for tests and tools: the defaults with `overrides`. */
export function bridgeSettings(overrides: Partial<BridgeSettings> = {}): BridgeSettings {
  return { ...BRIDGE_DEFAULTS, ...overrides };
}

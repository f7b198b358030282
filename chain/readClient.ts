/** The read surface of a viem client that chain/ code needs (a PublicClient or a signer's client). */
import type { PublicClient } from "viem";

export type ReadClient = Pick<PublicClient, "readContract">;

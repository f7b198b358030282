/**
 * Compiles the Solidity sources with the `solc` npm package (standard JSON), because no native solc
 * can be installed on our machines. Pure: returns the artifacts, writes nothing (see build.ts).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { CosmicError } from "../../infra/errors.js";

const require = createRequire(import.meta.url);
// solc ships CommonJS without types.
const solc = require("solc") as {
  version(): string;
  compile(input: string, options: { import: (p: string) => { contents: string } | { error: string } }): string;
};

export const projectRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");

/**
 * Our own contracts. LayerZero's are not compiled here: the devnet deploys LayerZero's prebuilt
 * artifacts (devnet/layerzero/artifacts.ts) and `npm run contracts:build` renders their ABIs.
 */
export const CONTRACTS = {
  CosmicONFT721: "contracts/CosmicONFT721.sol",
  CosmicONFT721Adapter: "contracts/CosmicONFT721Adapter.sol",
  LegacyERC721: "contracts/LegacyERC721.sol",
} as const;
export type ContractName = keyof typeof CONTRACTS;

export const SOLC_SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: "cancun",
  viaIR: false,
  // No metadata hash: bytecode then depends only on sources and settings, so builds are reproducible.
  metadata: { bytecodeHash: "none", appendCBOR: false },
  outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
} as const;

export type Artifact = { contractName: ContractName; sourceName: string; abi: unknown[]; bytecode: `0x${string}` };

export class SolidityCompileError extends CosmicError {
  override name = "SolidityCompileError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("internal", "SOLIDITY_COMPILE_FAILED", message, options);
  }
}

function resolveImport(importPath: string): { contents: string } | { error: string } {
  const candidates = [path.join(projectRoot, importPath), path.join(projectRoot, "node_modules", importPath)];
  for (const candidate of candidates) {
    try {
      return { contents: readFileSync(candidate, "utf8") };
    } catch {}
  }
  return { error: `not found: ${importPath}` };
}

export function compileContracts(): { solcVersion: string; artifacts: Record<ContractName, Artifact> } {
  const sources: Record<string, { content: string }> = {};
  for (const source of Object.values(CONTRACTS)) {
    const found = resolveImport(source);
    if ("error" in found) throw new SolidityCompileError(found.error);
    sources[source] = { content: found.contents };
  }
  const input = { language: "Solidity", sources, settings: SOLC_SETTINGS };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: resolveImport })) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>;
  };
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) throw new SolidityCompileError(errors.map((e) => e.formattedMessage).join("\n"));

  const artifacts = {} as Record<ContractName, Artifact>;
  for (const [contractName, sourceName] of Object.entries(CONTRACTS) as [ContractName, string][]) {
    const compiled = output.contracts[sourceName]?.[contractName];
    if (!compiled) throw new SolidityCompileError(`${contractName} missing from solc output`);
    artifacts[contractName] = { contractName, sourceName, abi: compiled.abi, bytecode: `0x${compiled.evm.bytecode.object}` };
  }
  return { solcVersion: solc.version(), artifacts };
}

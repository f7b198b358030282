/** `npm run contracts:build` is reproducible and its committed outputs (abis/, artifacts/) are not stale. */
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { LAYERZERO_ARTIFACTS, type LayerZeroContract, layerZeroArtifact } from "../../devnet/layerzero/artifacts.js";
import { CONTRACTS, compileContracts, projectRoot } from "../../scripts/contracts/compile.js";
import { renderAbiModule, renderArtifactJson } from "../../scripts/contracts/render.js";

describe("contracts build", () => {
  it("recompiling yields exactly the committed abis/ and artifacts/", () => {
    const { solcVersion, artifacts } = compileContracts();
    const names = Object.keys(CONTRACTS).sort();
    const layerZero = Object.keys(LAYERZERO_ARTIFACTS) as LayerZeroContract[];
    expect(Object.keys(artifacts).sort()).toEqual(names);
    // No stray generated files for contracts that no longer exist.
    expect(
      readdirSync(path.join(projectRoot, "abis"))
        .filter((f) => f.endsWith("Abi.ts"))
        .sort(),
    ).toEqual([...names, ...layerZero].map((n) => `${n}Abi.ts`).sort());
    for (const name of layerZero) {
      const abiFile = readFileSync(path.join(projectRoot, "abis", `${name}Abi.ts`), "utf8");
      expect(abiFile, `abis/${name}Abi.ts is stale: run npm run contracts:build`).toBe(renderAbiModule(layerZeroArtifact(name)));
    }
    expect(
      readdirSync(path.join(projectRoot, "artifacts"))
        .filter((f) => f.endsWith(".json"))
        .sort(),
    ).toEqual(names.map((n) => `${n}.json`));
    for (const artifact of Object.values(artifacts)) {
      const abiFile = readFileSync(path.join(projectRoot, "abis", `${artifact.contractName}Abi.ts`), "utf8");
      const artifactFile = readFileSync(path.join(projectRoot, "artifacts", `${artifact.contractName}.json`), "utf8");
      // Compare as strings (exact bytes), with a readable message when stale.
      expect(abiFile, `abis/${artifact.contractName}Abi.ts is stale: run npm run contracts:build`).toBe(renderAbiModule(artifact));
      expect(artifactFile, `artifacts/${artifact.contractName}.json is stale: run npm run contracts:build`).toBe(renderArtifactJson(artifact, solcVersion));
    }
  });
});

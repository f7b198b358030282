/** `npm run contracts:build` is reproducible and its committed outputs (abis/, artifacts/) are not stale. */
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CONTRACTS, compileContracts, projectRoot } from "../../scripts/contracts/compile.js";
import { renderAbiModule, renderArtifactJson } from "../../scripts/contracts/render.js";

describe("contracts build", () => {
  it("recompiling yields exactly the committed abis/ and artifacts/", () => {
    const { solcVersion, artifacts } = compileContracts();
    const names = Object.keys(CONTRACTS).sort();
    expect(Object.keys(artifacts).sort()).toEqual(names);
    // No stray generated files for contracts that no longer exist.
    expect(readdirSync(path.join(projectRoot, "abis")).filter((f) => f.endsWith("Abi.ts")).sort()).toEqual(names.map((n) => `${n}Abi.ts`));
    expect(readdirSync(path.join(projectRoot, "artifacts")).filter((f) => f.endsWith(".json")).sort()).toEqual(names.map((n) => `${n}.json`));
    for (const artifact of Object.values(artifacts)) {
      const abiFile = readFileSync(path.join(projectRoot, "abis", `${artifact.contractName}Abi.ts`), "utf8");
      const artifactFile = readFileSync(path.join(projectRoot, "artifacts", `${artifact.contractName}.json`), "utf8");
      // Compare as strings (exact bytes), with a readable message when stale.
      expect(abiFile, `abis/${artifact.contractName}Abi.ts is stale: run npm run contracts:build`).toBe(renderAbiModule(artifact));
      expect(artifactFile, `artifacts/${artifact.contractName}.json is stale: run npm run contracts:build`).toBe(renderArtifactJson(artifact, solcVersion));
    }
  });
});

/**
 * `npm run contracts:build`: compiles our contracts and writes typed `as const` ABIs to `abis/` and
 * bytecode artifacts to `artifacts/`, plus the ABIs of LayerZero's prebuilt contracts. The outputs
 * are committed; test/contracts/build.test.ts fails when they are stale.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { LAYERZERO_ARTIFACTS, type LayerZeroContract, layerZeroArtifact } from "../../devnet/layerzero/artifacts.js";
import { compileContracts, projectRoot } from "./compile.js";
import { renderAbiModule, renderArtifactJson } from "./render.js";

const started = performance.now();
const { solcVersion, artifacts } = compileContracts();
mkdirSync(path.join(projectRoot, "abis"), { recursive: true });
mkdirSync(path.join(projectRoot, "artifacts"), { recursive: true });
for (const artifact of Object.values(artifacts)) {
  writeFileSync(path.join(projectRoot, "abis", `${artifact.contractName}Abi.ts`), renderAbiModule(artifact));
  writeFileSync(path.join(projectRoot, "artifacts", `${artifact.contractName}.json`), renderArtifactJson(artifact, solcVersion));
}
for (const name of Object.keys(LAYERZERO_ARTIFACTS) as LayerZeroContract[]) {
  writeFileSync(path.join(projectRoot, "abis", `${name}Abi.ts`), renderAbiModule(layerZeroArtifact(name)));
}
console.log(`compiled ${Object.keys(artifacts).length} contracts with solc ${solcVersion} in ${((performance.now() - started) / 1000).toFixed(1)} s`);

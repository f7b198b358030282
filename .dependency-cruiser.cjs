/**
 * The import direction of docs/architecture.md, checked by `npm run lint:layers` (and by
 * test/ops/layers.test.ts inside `npm test`): no circle, nothing pointing up a layer.
 *
 * Layers, lowest first: infra/ offchain/ abis/ → chain/ indexer/ src/lib/ devnet/ → api/indexed/ →
 * domain/ → api/ realtime/ jobs/ webhooks/ src/ (handlers) → entry points. Violations that existed when the
 * check was introduced are listed in .dependency-cruiser-known-violations.json (`--ignore-known`):
 * they may go away, none may be added. Regenerate that file only when removing entries.
 */
const ENTRY = "^(api/main\\.ts|api/deps\\.ts|realtime/main\\.ts|jobs/main\\.ts|src/api/index\\.ts|ponder\\.config\\.ts|scripts/|ops/)";
const up = (name, comment, from, to) => ({ name, comment, severity: "error", from: { path: from, pathNot: ENTRY }, to: { path: to } });

module.exports = {
  forbidden: [
    { name: "no-circular", comment: "Import circles hide which module owns what.", severity: "error", from: {}, to: { circular: true } },
    up("base-imports-up", "infra/, offchain/ and abis/ are the base: they import nothing of ours above them.", "^(infra|offchain|abis)/", "^(chain|indexer|src|devnet|api|domain|realtime|jobs|webhooks)/"),
    up("chain-imports-up", "chain/, indexer/, src/lib/ and devnet/ sit on the base only.", "^(chain|indexer|src/lib|devnet)/", "^(api|domain|realtime|jobs|webhooks|src/index\\.ts|src/api/)"),
    up("read-model-imports-up", "api/indexed/ (the read model of the index) sits below the services.", "^api/indexed/", "^(api/(?!indexed/)|domain|realtime|jobs|webhooks|src/index\\.ts|src/api/)"),
    up("domain-imports-up", "domain/ never imports the HTTP layer, realtime or jobs.", "^domain/", "^(api/(?!indexed/)|realtime|jobs|webhooks|src/index\\.ts|src/api/)"),
    up("entry-points-are-top", "Nothing imports an entry point.", "^(infra|offchain|abis|chain|indexer|src|devnet|api|domain|realtime|jobs|webhooks)/", ENTRY),
    { name: "production-skips-devnet", comment: "Production code does not depend on the development chains (only the devnet settings loader reads their deployments file).", severity: "error", from: { path: "^(api|domain|realtime|jobs|webhooks|infra|offchain|chain|src)/" }, to: { path: "^devnet/" } },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|test|bench|generated|\\.ponder)/" },
    tsConfig: { fileName: "tsconfig.json" },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: [".ts", ".js"] },
  },
};

/**
 * The import direction of docs/architecture.md, checked by `npm run lint:layers` (and by
 * test/ops/layers.test.ts inside `npm test`): no circle, nothing pointing up a layer.
 *
 * Layers, lowest first: infra/ offchain/ abis/ → chain/ indexer/ devnet/ → read/ →
 * domain/ → api/ realtime/ jobs/ webhooks/ src/ (Ponder's handlers) → entry points.
 * No exception is listed: a new violation fails the check.
 */
const ENTRY = "^(app/|api/main\\.ts|realtime/main\\.ts|jobs/main\\.ts|src/api/index\\.ts|ponder\\.config\\.ts|scripts/|ops/)";
const up = (name, comment, from, to) => ({ name, comment, severity: "error", from: { path: from, pathNot: ENTRY }, to: { path: to } });

module.exports = {
  forbidden: [
    { name: "no-circular", comment: "Import circles hide which module owns what.", severity: "error", from: {}, to: { circular: true } },
    up("base-imports-up", "infra/, offchain/ and abis/ are the base: they import nothing of ours above them.", "^(infra|offchain|abis)/", "^(chain|indexer|src|devnet|read|api|domain|realtime|jobs|webhooks)/"),
    up("chain-imports-up", "chain/, indexer/ and devnet/ sit on the base only.", "^(chain|indexer|devnet)/", "^(read|api|domain|realtime|jobs|webhooks|src/)"),
    up("read-model-imports-up", "read/ (the read model of the index) sits below the services.", "^read/", "^(api|domain|realtime|jobs|webhooks|src/)"),
    up("domain-imports-up", "domain/ never imports the HTTP layer, realtime or jobs.", "^domain/", "^(api/|realtime|jobs|webhooks|src/)"),
    up("entry-points-are-top", "Nothing imports an entry point.", "^(infra|offchain|abis|chain|indexer|src|devnet|read|api|domain|realtime|jobs|webhooks)/", ENTRY),
    { name: "production-skips-devnet", comment: "Production code does not depend on the development chains (their deployments file is read through chain/deployments.ts).", severity: "error", from: { path: "^(api|domain|read|realtime|jobs|webhooks|infra|offchain|chain|indexer|src)/" }, to: { path: "^devnet/" } },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|test|bench|generated|\\.ponder)/" },
    tsConfig: { fileName: "tsconfig.json" },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: [".ts", ".js"] },
  },
};

# Shared by the ops/ scripts: the deploy schema and the stable views schema.
#   DEPLOY_ID      identifies this build (default: short git commit) → Ponder schema cosmic_<DEPLOY_ID>
#   VIEWS_SCHEMA   stable schema of views over the live deployment (default: cosmic)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?DATABASE_URL is required in production (Postgres)}"
: "${REDIS_URL:?REDIS_URL is required in production (shared by every replica)}"
DEPLOY_ID="${DEPLOY_ID:-$(git rev-parse --short=12 HEAD 2>/dev/null || date +%Y%m%d%H%M%S)}"
export DEPLOY_SCHEMA="${DEPLOY_SCHEMA:-cosmic_${DEPLOY_ID}}"
export VIEWS_SCHEMA="${VIEWS_SCHEMA:-cosmic}"
export NODE_ENV="${NODE_ENV:-production}"
export PONDER_TELEMETRY_DISABLED=1
# PONDER_HEAP_MB: V8 heap limit of Ponder (default 1536, as indexer/ponderProcess.ts). Uncapped, Node
# grows the heap towards its own limit before collecting (2.8 GB RSS at 1M tokens; 1.55 GB capped, same
# speed). It must hold Ponder's indexing cache (PONDER_CACHE_BYTES, default 832 MB by Ponder's estimate,
# set by indexer/ponderPreload.mjs) plus the sync: 1024 peaks at 1.27 GB for +25 % backfill CPU (GC) (BENCHMARKS.md).
# indexer/ponderPreload.mjs: Ponder's 1 ms event-loop lag timer at 10 ms (idle CPU, issue 18).
PONDER_NODE="node --import ./indexer/ponderPreload.mjs --max-old-space-size=${PONDER_HEAP_MB:-1536}"
PONDER_BIN="$PONDER_NODE node_modules/ponder/dist/esm/bin/ponder.js"

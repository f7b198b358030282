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
# PONDER_HEAP_MB caps V8's heap (peak RSS follows it). Unset: no cap, Node lets the heap grow towards
# its own limit (1.24 GB RSS for indexer + API at 200k tokens on Postgres). 448 holds 600 MB at 200k
# at ~2× the backfill CPU, but aborts (heap out of memory) in the backfill of 1M tokens: Ponder parses
# whole eth_getLogs responses of 2,000-log blocks (BENCHMARKS.md, issue 18). Pick per history size.
# indexer/ponderPreload.mjs: Ponder's 1 ms event-loop lag timer at 10 ms (idle CPU, issue 18).
PONDER_NODE="node --import ./indexer/ponderPreload.mjs${PONDER_HEAP_MB:+ --max-old-space-size=$PONDER_HEAP_MB}"
PONDER_BIN="$PONDER_NODE node_modules/ponder/dist/esm/bin/ponder.js"

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
# PONDER_HEAP_MB caps V8's heap (peak RSS follows it). Default 448: peak RSS 600 MB for indexer + API
# at 200k tokens on Postgres, at ~2× the backfill CPU (GC; BENCHMARKS.md, issue 18). 0 = no cap: Node
# lets the heap grow towards its own limit (1.24 GB RSS at 200k tokens) and a backfill runs twice as
# fast — set it for a one-off reindex on a machine with the memory.
PONDER_HEAP_MB="${PONDER_HEAP_MB:-448}"
if [ "$PONDER_HEAP_MB" = 0 ]; then PONDER_NODE="node"; else PONDER_NODE="node --max-old-space-size=$PONDER_HEAP_MB"; fi
PONDER_BIN="$PONDER_NODE node_modules/ponder/dist/esm/bin/ponder.js"

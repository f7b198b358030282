#!/usr/bin/env bash
# The indexer of one deploy: `ponder start` on Postgres in its own schema; once backfilled it
# publishes views of its tables into VIEWS_SCHEMA, which replicas-to-be and the realtime companions
# read — the switch-over of a zero-downtime deploy (docs/operations.md).
source "$(dirname "$0")/env.sh"
npx tsx ops/check-env.ts
exec $PONDER_BIN start --schema "$DEPLOY_SCHEMA" --views-schema "$VIEWS_SCHEMA" --port "${PORT:-42069}"

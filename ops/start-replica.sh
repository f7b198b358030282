#!/usr/bin/env bash
# An extra API replica (no indexing): `ponder serve` on the same deploy schema, behind the load
# balancer. Run one realtime companion next to each replica (ops/start-realtime.sh).
source "$(dirname "$0")/env.sh"
npx tsx ops/check-env.ts
exec $PONDER_BIN serve --schema "$DEPLOY_SCHEMA" --port "${PORT:-42069}"

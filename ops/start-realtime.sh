#!/usr/bin/env bash
# The realtime companion (WebSocket server + notifier) of a replica. Reads the indexed tables
# through the views schema, so it follows a deploy switch-over without a restart.
source "$(dirname "$0")/env.sh"
export INDEXED_SCHEMA="${INDEXED_SCHEMA:-$VIEWS_SCHEMA}"
npx tsx ops/check-env.ts
exec npx tsx realtime/main.ts

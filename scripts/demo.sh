#!/usr/bin/env bash
# The main job on the embedded default: init → ingest a fixture → compress → stats → a query.
# Safe to run again: init and ingest are idempotent (the second ingest loads 0 new readings).
set -euo pipefail
cd "$(dirname "$0")/.."
iotctl() { node bin/iotctl.js "$@"; }

echo "== iotctl init"
iotctl init
echo "== iotctl ingest fixtures/demo/readings.csv"
iotctl ingest fixtures/demo/readings.csv
echo "== iotctl compress run --older-than 1d"
iotctl compress run --older-than 1d
echo "== iotctl stats --top 5"
iotctl stats --top 5
echo "== iotctl query agg --metric temperature --every 1d (the fixture's three days)"
iotctl query agg --metric temperature --since 2026-10-29T00:00:00Z --until 2026-11-01T00:00:00Z --every 1d --fn avg,min,max,count
echo "== iotctl anomalies --metric temperature --method mad"
iotctl anomalies --metric temperature --since 2026-10-29T00:00:00Z --until 2026-11-01T00:00:00Z --method mad
echo "== iotctl status"
iotctl status

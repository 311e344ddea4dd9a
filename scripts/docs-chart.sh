#!/usr/bin/env bash
# Regenerates docs/anomalies.svg, the README's example chart, from fixtures/demo/readings.csv in a
# throwaway embedded store: `npm run docs:chart`.
set -euo pipefail
cd "$(dirname "$0")/.."
store=$(mktemp -d)
trap 'rm -rf "$store"' EXIT
iotctl() { node bin/iotctl.js --db "$store" "$@"; }
iotctl init --quiet >/dev/null
iotctl ingest fixtures/demo/readings.csv --quiet >/dev/null
iotctl anomalies --metric temperature --device hall-1,hall-2 --method mad \
  --since 2026-10-31T00:00:00Z --until 2026-11-01T00:00:00Z --chart docs/anomalies.svg

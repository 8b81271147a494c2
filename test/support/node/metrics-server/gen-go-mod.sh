#!/usr/bin/env bash
# Regenerates go.mod/go.sum of this module: metrics-server (./cmd/metrics-server), the resource
# metrics API (metrics.k8s.io) that HorizontalPodAutoscalers read, for the tests' real node
# (test/support/metrics-server.ts), run as a host process.
#   test/support/node/metrics-server/gen-go-mod.sh v0.8.0
set -euo pipefail
version="${1:?usage: $0 METRICS_SERVER_VERSION}"
exec "$(dirname "$0")/../gen-tool-go-mod.sh" metrics-server 1.24.0 sigs.k8s.io/metrics-server/cmd/metrics-server "${version}" "metrics-server (./cmd/metrics-server)" test/support/metrics-server.ts

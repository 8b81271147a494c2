#!/usr/bin/env bash
# Regenerates go.mod/go.sum of this module: prometheus-adapter (./cmd/adapter), the custom and
# external metrics APIs (custom.metrics.k8s.io, external.metrics.k8s.io) served from Prometheus
# queries, for the tests' real node (test/support/prometheus-adapter.ts), run as a host process.
#   test/support/node/prometheus-adapter/gen-go-mod.sh v0.12.0
set -euo pipefail
version="${1:?usage: $0 PROMETHEUS_ADAPTER_VERSION}"
exec "$(dirname "$0")/../gen-tool-go-mod.sh" prometheus-adapter 1.24.0 sigs.k8s.io/prometheus-adapter/cmd/adapter "${version}" "prometheus-adapter (./cmd/adapter)" test/support/prometheus-adapter.ts

#!/usr/bin/env bash
# Regenerates go.mod/go.sum of this module: Prometheus (./cmd/prometheus, every service discovery
# of a default build, Kubernetes included) for the monitoring test on the real node
# (test/support/node-monitoring.ts), run as a pod by the Prometheus Operator. The version is the
# Go module's (v0.3MM.P is Prometheus 3.MM.P): the one the operator's module requires, which is
# also the operator's default Prometheus.
#   test/support/node/prometheus/gen-go-mod.sh v0.313.1
set -euo pipefail
version="${1:?usage: $0 PROMETHEUS_MODULE_VERSION}"
exec "$(dirname "$0")/../gen-tool-go-mod.sh" prometheus 1.25.0 github.com/prometheus/prometheus/cmd/prometheus "${version}" "Prometheus (./cmd/prometheus)" test/support/node-monitoring.ts

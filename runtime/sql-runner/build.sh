#!/usr/bin/env bash
# Builds runtime/sql-runner/target/cdk8s-flink-sql-runner.jar and runs its unit tests.
# Uses the default local Maven repository (~/.m2); pass -o to build offline once it is filled.
set -euo pipefail
cd "$(dirname "$0")"
exec mvn -B -q "$@" package

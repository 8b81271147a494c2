#!/usr/bin/env bash
# Regenerates lib/config/catalog/flink-<major.minor>.json (every ConfigOption in the Flink jars
# a cluster configuration can address) and lib/config/catalog/migration-2.json.
#
#   scripts/flink-options/generate.sh                # 1.20.3 2.0.1 2.2.0
#   scripts/flink-options/generate.sh 2.2.0          # just one version
#
# Needs Java 17+, Maven (Maven Central) and Node 20. Takes a few minutes on a cold ~/.m2.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="$ROOT/lib/config/catalog"
WORK="$HERE/target/work"
MVN=(mvn -B -q -Dstyle.color=never)

VERSIONS=("$@")
if [ ${#VERSIONS[@]} -eq 0 ]; then
  VERSIONS=(1.20.3 2.0.1 2.2.0)
fi

# Modules holding the options users set in a cluster / job configuration.
#  - RpcOptions/AkkaOptions, CheckpointingOptions, StateBackendOptions, ... live in flink-core;
#    flink-rpc-core / flink-rpc-akka-loader are scanned anyway.
#  - RocksDB is flink-statebackend-rocksdb in 1.20 and 2.x alike (there is no flink-state-rocksdb).
#  - ForSt (flink-statebackend-forst) only for 2.x.
# Not every module is released for every patch version (e.g. flink-kubernetes has no 1.20.3 and
# no 2.0.1 on Maven Central), so each one is requested as the range [X.Y.0, version]: Maven picks
# the newest release not newer than the requested one. The versions actually used are recorded in
# the "artifacts" field of each catalog.
COMMON=(flink-core flink-runtime flink-streaming-java flink-clients flink-table-api-java
  flink-table-runtime flink-rpc-core flink-rpc-akka-loader flink-statebackend-rocksdb
  flink-statebackend-changelog flink-dstl-dfs flink-metrics-prometheus flink-kubernetes
  flink-connector-files)
V2_ONLY=(flink-statebackend-forst)

echo "building dumper" >&2
"${MVN[@]}" -f "$HERE/pom.xml" package -DskipTests
DUMPER="$HERE/target/flink-options-dumper-0.1.0.jar"
mkdir -p "$OUT" "$WORK"

for v in "${VERSIONS[@]}"; do
  start=$(date +%s)
  minor="${v%.*}"
  major="${v%%.*}"
  arts=("${COMMON[@]}")
  if [ "$major" -ge 2 ]; then arts+=("${V2_ONLY[@]}"); fi

  dir="$WORK/$v"
  mkdir -p "$dir"
  {
    echo '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
    echo "<groupId>dev.cdk8sflink</groupId><artifactId>flink-options-$v</artifactId><version>1</version><packaging>pom</packaging>"
    echo '<dependencies>'
    for a in "${arts[@]}"; do
      echo "<dependency><groupId>org.apache.flink</groupId><artifactId>$a</artifactId><version>[$minor.0,$v]</version></dependency>"
    done
    echo '</dependencies></project>'
  } > "$dir/pom.xml"

  echo "resolving Flink $v" >&2
  "${MVN[@]}" -f "$dir/pom.xml" dependency:build-classpath \
    -Dmdep.outputFile="$dir/classpath.txt" -Dmdep.includeScope=runtime >/dev/null
  tr ':' '\n' < "$dir/classpath.txt" | grep -E '/org/apache/flink/flink-' \
    | grep -v '/flink-shaded-' | LC_ALL=C sort > "$dir/scan.txt"

  # groupId:artifactId:version of every scanned jar, from its path in the local repository
  art_args=()
  while read -r jar; do
    ver="$(basename "$(dirname "$jar")")"
    aid="$(basename "$(dirname "$(dirname "$jar")")")"
    art_args+=(--artifact "org.apache.flink:$aid:$ver")
  done < "$dir/scan.txt"

  echo "computing smallest accepted JM/TM process sizes for Flink $v" >&2
  java -cp "$(cat "$dir/classpath.txt")" "$HERE/MinProcessMemory.java" "$v" 2> >(grep -v '^SLF4J' >&2) \
    > "$dir/memory.json"

  echo "dumping Flink $v options" >&2
  # java.io.tmpdir is pinned: several defaults are System.getProperty("java.io.tmpdir")
  java -Xmx2g -Djava.io.tmpdir=/tmp -Djava.awt.headless=true -Dlog4j2.level=OFF -Dslf4j.internal.verbosity=ERROR \
    -cp "$DUMPER:$(cat "$dir/classpath.txt")" dev.cdk8sflink.options.DumpFlinkOptions \
    --flink-version "$v" "${art_args[@]}" --scan-list "$dir/scan.txt" \
    --failures "$dir/failures.txt" --embed processMemoryMinimums="$dir/memory.json" --out "$OUT/flink-$minor.json" 2> >(grep -v '^SLF4J' >&2)
  echo "Flink $v -> lib/config/catalog/flink-$minor.json ($(( $(date +%s) - start )) s)" >&2
done

if [ -f "$OUT/flink-1.20.json" ] && [ -f "$OUT/flink-2.2.json" ]; then
  node "$HERE/derive-migration.js" "$OUT/flink-1.20.json" "$OUT/flink-2.2.json" "$OUT/migration-2.json"
fi

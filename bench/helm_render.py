"""Renders Helm charts one release at a time, as a CI job that renders each release would.

    python3 helm_render.py <helm> <charts dir> <release list file> <out dir> <namespace>

For each release name in the list: `helm template <name> <charts dir>/<name> --namespace <ns>`
with its output written to <out dir>/<name>.yaml. Prints JSON: the wall time of each render
(ms), the largest peak resident memory of one helm process (KiB) and the CPU time of all of
them (ms). Python reads the children's resource usage, which Node does not expose.
"""
import json
import os
import resource
import subprocess
import sys
import time


def main() -> None:
    helm, charts, release_list, out, namespace = sys.argv[1:6]
    os.makedirs(out, exist_ok=True)
    with open(release_list, encoding="utf-8") as f:
        releases = [line.strip() for line in f if line.strip()]
    times = []
    for name in releases:
        with open(os.path.join(out, f"{name}.yaml"), "wb") as dest:
            start = time.perf_counter()
            proc = subprocess.run(
                [helm, "template", name, os.path.join(charts, name), "--namespace", namespace],
                stdout=dest, stderr=subprocess.PIPE, timeout=300, check=False,
            )
            times.append((time.perf_counter() - start) * 1000)
        if proc.returncode != 0:
            sys.stderr.write(f"helm template {name} failed ({proc.returncode}): {proc.stderr.decode(errors='replace')}\n")
            sys.exit(1)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    json.dump({
        "ms": [round(t, 2) for t in times],
        "peak_kib": usage.ru_maxrss,
        "cpu_ms": round((usage.ru_utime + usage.ru_stime) * 1000, 1),
    }, sys.stdout)


if __name__ == "__main__":
    main()

"""Draws the benchmark plots from a results file.

    python3 plot.py <results.json> <plots dir>

Prints the path of every PNG written. Parts missing from the results are skipped.
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

VARIANTS = [
    # key, label, color, marker
    ("platform", "cdk8s-flink synth: manifests + charts (one App per unit)", "#1f77b4", "o"),
    ("platform-manifests", "cdk8s-flink synth: manifests only", "#2ca02c", "s"),
    ("one-app", "one cdk8s App, app.synth(): manifests", "#d62728", "^"),
    ("helm", "helm template per release (from the charts)", "#9467bd", "D"),
]


def seconds(ms):
    return ms / 1000.0


def fmt_s(x, _pos=None):
    if x >= 10:
        return f"{x:.0f} s"
    if x >= 1:
        return f"{x:.1f} s"
    return f"{x:.2f} s"


def fmt_jobs(x, _pos=None):
    return f"{int(x):,}" if x >= 1 else f"{x:g}"


def save(fig, path, written):
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)


def synth_plots(part, out, written):
    points = part["points"]
    by = {}
    for p in points:
        by.setdefault(p["variant"], []).append(p)
    sizes = sorted({p["jobs"] for p in points})
    machine = part.get("machine", {})
    subtitle = f"{machine.get('cpus', '?')} CPUs, {machine.get('model', '')}; median of {part.get('runs', '?')} runs, bars: min-max"

    # wall time, log-log
    fig, ax = plt.subplots(figsize=(9, 5.8))
    for key, label, color, marker in VARIANTS:
        ps = sorted(by.get(key, []), key=lambda p: p["jobs"])
        if not ps:
            continue
        xs = [p["jobs"] for p in ps]
        ys = [seconds(p["wallMs"]["median"]) for p in ps]
        lo = [y - seconds(p["wallMs"]["min"]) for p, y in zip(ps, ys)]
        hi = [seconds(p["wallMs"]["max"]) - y for p, y in zip(ps, ys)]
        measured = [not p.get("extrapolated") for p in ps]
        ax.errorbar(xs, ys, yerr=[lo, hi], color=color, marker=marker, label=label, capsize=3, linewidth=1.8)
        for x, y, m in zip(xs, ys, measured):
            if not m:
                ax.plot([x], [y], marker=marker, markersize=11, markerfacecolor="white", markeredgecolor=color, linestyle="none")
                ax.annotate("extrapolated\nfrom a sample", (x, y), textcoords="offset points", xytext=(-8, 8), ha="right", fontsize=8, color=color)
    # linear reference through the first platform point
    base = sorted(by.get("platform", []), key=lambda p: p["jobs"])
    if base:
        ref = base[-1]
        k = seconds(ref["wallMs"]["median"]) / ref["jobs"]
        xs = [s for s in sizes if s >= 10]
        if xs:
            ax.plot(xs, [k * x for x in xs], color="gray", linestyle=":", linewidth=1, label="linear growth (slope 1)")
    if 1000 in sizes:
        ax.axhline(2.0, color="black", linestyle="--", linewidth=0.8)
        ax.annotate("target: 1000 jobs in < 2 s", (1000, 2.0), textcoords="offset points", xytext=(4, 4), fontsize=8)
        ax.axvline(1000, color="black", linestyle="--", linewidth=0.5, alpha=0.5)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(fmt_jobs))
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(fmt_s))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("jobs (log)")
    ax.set_ylabel("wall time (log)")
    ax.set_title(f"Synthesis time vs number of jobs\n{subtitle}", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    save(fig, os.path.join(out, "synth-time.png"), written)

    # peak memory
    fig, ax = plt.subplots(figsize=(9, 5.2))
    for key, label, color, marker in VARIANTS:
        ps = sorted(by.get(key, []), key=lambda p: p["jobs"])
        if not ps:
            continue
        lab = label + (" (one helm process)" if key == "helm" else "")
        ax.plot([p["jobs"] for p in ps], [p["peakMiB"]["median"] for p in ps], color=color, marker=marker, label=lab, linewidth=1.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(fmt_jobs))
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda x, _p: f"{x:.0f} MiB"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("jobs (log)")
    ax.set_ylabel("peak resident memory (log)")
    ax.set_title(f"Peak memory of one synthesis process vs number of jobs\n{subtitle}", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    save(fig, os.path.join(out, "synth-memory.png"), written)

    # where the time goes: phases of the platform run
    ps = sorted(by.get("platform", []), key=lambda p: p["jobs"])
    if ps and ps[0].get("phases"):
        names = list(ps[0]["phases"].keys())
        colors = ["#8c564b", "#1f77b4", "#ff7f0e", "#2ca02c", "#17becf", "#7f7f7f"]
        fig, ax = plt.subplots(figsize=(9, 4.8))
        labels = [f"{p['jobs']:,} jobs" for p in ps]
        for p_i, p in enumerate(ps):
            total = sum(p["phases"].values()) or 1
            left = 0.0
            for i, n in enumerate(names):
                share = 100.0 * p["phases"][n] / total
                ax.barh(p_i, share, left=left, color=colors[i % len(colors)], label=n if p_i == 0 else None)
                if share >= 7:
                    ax.text(left + share / 2, p_i, f"{seconds(p['phases'][n]):.2f} s" if p["phases"][n] < 10000 else f"{seconds(p['phases'][n]):.0f} s",
                            ha="center", va="center", fontsize=7, color="white")
                left += share
        ax.set_yticks(range(len(ps)))
        ax.set_yticklabels(labels)
        ax.set_xlabel("share of the in-process time (%)")
        ax.set_title("Where cdk8s-flink synth spends its time (median run, in process)", fontsize=10)
        ax.legend(fontsize=8, ncol=len(names), loc="upper center", bbox_to_anchor=(0.5, -0.15))
        save(fig, os.path.join(out, "synth-phases.png"), written)

    prof = part.get("profile")
    if prof and prof.get("areas"):
        areas = [a for a in prof["areas"] if a["ms"] > 0][:12][::-1]
        fig, ax = plt.subplots(figsize=(9, 4.8))
        ax.barh([a["name"] for a in areas], [a["ms"] / 1000.0 for a in areas], color="#1f77b4")
        for i, a in enumerate(areas):
            ax.text(a["ms"] / 1000.0, i, f" {a['ms'] / 1000.0:.2f} s ({a['percent']}%)", va="center", fontsize=7)
        ax.set_xlabel("CPU profile self time (s)")
        ax.set_title(f"Profile of cdk8s-flink synth at {prof['jobs']:,} jobs (node --cpu-prof), by area", fontsize=10)
        ax.tick_params(axis="y", labelsize=7)
        save(fig, os.path.join(out, "synth-profile.png"), written)


def pct(frac):
    return int(frac * 100 + 0.5)


def plan_plot(part, out, written):
    points = sorted(part["points"], key=lambda p: p["jobs"])
    if not points:
        return
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(13, 4.8), gridspec_kw={"width_ratios": [1, 1, 0.85]})
    jobs = [p["jobs"] for p in points]
    for ax, key, unit, div in ((ax1, "cpuMillis", "CPU cores", 1000.0), (ax2, "memoryMiB", "memory (GiB)", 1024.0)):
        app = [p["allApplication"][key] / div for p in points]
        ses = [p["allSession"][key] / div for p in points]
        ax.plot(jobs, app, color="#d62728", marker="o", linewidth=2, label="every job an application cluster")
        ax.plot(jobs, ses, color="#2ca02c", marker="s", linewidth=2, label="every job a session job")
        ax.fill_between(jobs, ses, app, color="#2ca02c", alpha=0.12)
        for j, a, s_, p in zip(jobs, app, ses, points):
            frac = p["sessionSavesCpu"] if key == "cpuMillis" else p["sessionSavesMemory"]
            ax.annotate(f"{a:,.0f}", (j, a), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8, color="#d62728")
            ax.annotate(f"{s_:,.0f}\n(-{pct(frac)}%)", (j, s_), textcoords="offset points", xytext=(0, -24), ha="center", fontsize=8, color="#2ca02c")
        if len(jobs) > 1:
            ax.set_xscale("log")
            ax.set_yscale("log")
        ax.set_xticks(jobs)
        ax.xaxis.set_major_formatter(FuncFormatter(fmt_jobs))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}"))
        ax.set_xlabel("jobs" + (" (log)" if len(jobs) > 1 else ""))
        ax.set_ylabel(f"total requested {unit}" + (" (log)" if len(jobs) > 1 else ""))
        ax.margins(x=0.15, y=0.25)
        ax.grid(True, which="both", alpha=0.3)
        ax.set_title(f"Requested {unit.split(' (')[0]}: application vs session", fontsize=10)
    ax1.legend(fontsize=8, loc="upper left")
    # the trade-off: what a session job saves against what one failure can take down
    p = points[-1]
    per_app = p["allApplication"]["memoryMiB"] / p["jobs"] / 1024.0
    per_ses = p["allSession"]["memoryMiB"] / p["jobs"] / 1024.0
    blast_app = p["jobsPerJobManager"]["application"]
    blast_ses = p["jobsPerJobManager"]["session"]
    ax3.scatter([per_app], [blast_app], s=160, color="#d62728", label="application cluster per job", zorder=3)
    ax3.scatter([per_ses], [blast_ses], s=160, color="#2ca02c", label="session job", zorder=3)
    ax3.annotate(f"isolated: {per_app:.1f} GiB/job,\na failure stops 1 job", (per_app, blast_app), textcoords="offset points", xytext=(-10, 12), ha="right", fontsize=8)
    ax3.annotate(f"shared: {per_ses:.1f} GiB/job,\na JobManager failure\nstops {blast_ses} jobs", (per_ses, blast_ses), textcoords="offset points", xytext=(10, -30), ha="left", fontsize=8)
    ax3.set_xlabel("memory requested per job (GiB)")
    ax3.set_ylabel("jobs stopped by one JobManager failure")
    ax3.set_xlim(0, per_app * 1.35)
    ax3.set_ylim(0, blast_ses + 2)
    ax3.grid(True, alpha=0.3)
    ax3.set_title(f"Isolation vs efficiency ({p['jobs']:,} jobs)", fontsize=10)
    ax3.legend(fontsize=7, loc="upper right")
    fig.suptitle("cdk8s-flink plan on the example jobs repeated: total requests in application mode vs session mode", fontsize=11)
    save(fig, os.path.join(out, "plan-cost.png"), written)


def runtime_plot(part, out, written):
    points = part.get("points")
    if not isinstance(points, dict):
        return
    modes = list(points.keys())
    metrics = [("throughput", "throughput (records/s)"), ("latencyP99", "latency p99 (ms)"), ("recoveryRunning", "recovery to RUNNING (ms)"), ("recoveryCaughtUp", "recovery to caught up (ms)")]
    fig, axes = plt.subplots(1, len(metrics), figsize=(14, 4.2))
    for ax, (metric, title) in zip(axes, metrics):
        labels, gen, stock, gerr, serr = [], [], [], [], []
        for m in modes:
            g = points[m].get("generated", {}).get(metric) or {}
            s = points[m].get("stock", {}).get(metric) or {}
            if g.get("median") is None and s.get("median") is None:
                continue
            labels.append(m)
            gen.append(g.get("median") or 0)
            stock.append(s.get("median") or 0)
            gerr.append([(g.get("median") or 0) - (g.get("min") or g.get("median") or 0), (g.get("max") or g.get("median") or 0) - (g.get("median") or 0)])
            serr.append([(s.get("median") or 0) - (s.get("min") or s.get("median") or 0), (s.get("max") or s.get("median") or 0) - (s.get("median") or 0)])
        if not labels:
            ax.set_visible(False)
            continue
        x = range(len(labels))
        ax.bar([i - 0.2 for i in x], gen, 0.4, yerr=list(zip(*gerr)), capsize=3, color="#1f77b4", label="generated config")
        ax.bar([i + 0.2 for i in x], stock, 0.4, yerr=list(zip(*serr)), capsize=3, color="#ff7f0e", label="stock Flink config")
        ax.set_xticks(list(x))
        ax.set_xticklabels(labels, fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.grid(True, axis="y", alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle("Runtime on local Flink and Kafka: generated vs stock configuration (median, bars: min-max)", fontsize=10)
    save(fig, os.path.join(out, "runtime.png"), written)


def main():
    results, out = sys.argv[1], sys.argv[2]
    with open(results, encoding="utf-8") as f:
        data = json.load(f)
    os.makedirs(out, exist_ok=True)
    written = []
    parts = data.get("parts", {})
    if parts.get("synth", {}).get("points"):
        synth_plots(parts["synth"], out, written)
    if parts.get("plan", {}).get("points"):
        plan_plot(parts["plan"], out, written)
    if isinstance(parts.get("runtime", {}).get("points"), dict):
        runtime_plot(parts["runtime"], out, written)
    for w in written:
        print(w)


if __name__ == "__main__":
    main()

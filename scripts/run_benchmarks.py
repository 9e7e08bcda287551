"""Run every package's benchmarks in one go and collect their tables for the docs.

Usage: ``hatch run bench:all [--quick]``, or ``hatch run bench:all --from-results`` to redraw
the chart from the committed ``results.md`` without running anything.

Each ``packages/*/benchmarks/bench_*.py`` prints markdown tables comparing suitkaise with its
peers (ratios to the first peer). This script runs them one after another, echoes their output,
and writes ``docs/assets/benchmarks/results.md`` (included by ``docs/performance.md``) and, when
matplotlib is installed, ``docs/assets/benchmarks/ratios.png``: one bar per suitkaise cell of
every table that compares it with a peer. If any benchmark fails, nothing is written.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "assets" / "benchmarks"


def machine() -> str:
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} logical cores, "
        f"Python {platform.python_version()}"
    )


# "pool(" is suitkaise's Pool as bench_cluster names its rows ("Pool(cluster=client)").
OURS = ("cerial", "suitkaise", "skprocess", "share", "sktimer", "timethis", "pool(")
RATIO = re.compile(r"\(?([0-9][0-9,]*\.?[0-9]*)x\)?")
RATIO_HEADER = re.compile(r"\b(ratio|vs|speed)\b", re.I)
# Tables whose ratios are against a bare loop or an undecorated call, not against a peer.
BARE_LOOP = re.compile(r"engine overhead|timethis\W*call overhead", re.I)


def _is_ours(text: str) -> bool:
    return any(name in text.lower() for name in OURS)


def _ratio(cell: str) -> float:
    match = RATIO.search(cell)
    return float(match.group(1).replace(",", "")) if match else 0.0


def ratio_rows(markdown: str) -> list[tuple[str, float]]:
    """(label, ratio to the table's first peer) for suitkaise's own cells of every table.

    Two table shapes occur: peers as columns (our column holds "12 ms (0.95x)") and peers as
    rows (our row, named in its first or second cell, has a ratio column holding "0.95x").
    """
    rows: list[tuple[str, float]] = []
    header: list[str] | None = None
    first_ratio = 0.0
    title = ""
    for line in markdown.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().replace("`", "")
            # A script's own section heading ("### `packages/x/benchmarks/bench_y.py`").
            title = title.rsplit("/", 1)[-1] if title.startswith("packages/") else title
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
            first_ratio = 0.0
            continue
        if set("".join(cells)) <= set("-: ") or BARE_LOOP.search(title):
            continue
        ours = [i for i, h in enumerate(header) if i and _is_ours(h) and "/" not in h]
        ratio_cols = [i for i, h in enumerate(header) if i and RATIO_HEADER.search(h)]
        picks: list[tuple[str, str]] = []
        if ours:
            picks = [(f"{cells[0]} ({header[i]})", cells[i]) for i in ours if i < len(cells)]
        elif ratio_cols and ratio_cols[0] < len(cells):
            first_ratio = first_ratio or _ratio(cells[ratio_cols[0]])
            named = [i for i, c in enumerate(cells[:2]) if _is_ours(c) and i < ratio_cols[0]]
            # Peers as rows: the ratios are to the first row only where that row reads 1.00x
            # (peak memory, say, is a ratio to the payload).
            if named and first_ratio == 1.0:
                picks = [(" ".join(cells[: named[0] + 1]), cells[ratio_cols[0]])]
        for label, cell in picks:
            value = _ratio(cell)
            if value > 0:
                rows.append((f"{title[:40]}: {label.replace('`', '')}", value))
    return rows


def chart(rows: list[tuple[str, float]], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    if not rows:
        return False
    fig, ax = plt.subplots(figsize=(10, max(2.5, 0.3 * len(rows))))
    labels = [label[:90] for label, _ in rows]
    ax.barh(range(len(rows)), [r for _, r in rows], color="#3f51b5")
    ax.set_xscale("log")
    ax.set_yticks(range(len(rows)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.axvline(1.0, color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel("suitkaise / first peer of its table, log scale (direction: see the table)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    parser.add_argument(
        "--from-results",
        action="store_true",
        help="run nothing: redraw ratios.png from the existing results.md",
    )
    args = parser.parse_args()
    if args.from_results:
        results = OUT / "results.md"
        if not results.exists():
            print(f"{results} does not exist: run the benchmarks first", file=sys.stderr)
            return 1
        if not chart(ratio_rows(results.read_text(encoding="utf-8")), OUT / "ratios.png"):
            print("no chart drawn: matplotlib is missing or no ratio rows found", file=sys.stderr)
            return 1
        print(f"wrote {OUT / 'ratios.png'}")
        return 0
    scripts = sorted(REPO.glob("packages/*/benchmarks/bench_*.py"))
    if not scripts:
        print("no benchmark scripts found", file=sys.stderr)
        return 1
    sections = [
        "<!-- generated by scripts/run_benchmarks.py; do not edit by hand -->",
        f"Measured on {machine()}, {time.strftime('%Y-%m-%d')}"
        + (" (quick sizes)." if args.quick else "."),
        "",
    ]
    failed = []
    for script in scripts:
        rel = script.relative_to(REPO)
        print(f"\n=== {rel}", flush=True)
        cmd = [sys.executable, str(script), *(["--quick"] if args.quick else [])]
        done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        print(done.stdout, end="")
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            failed.append(str(rel))
            continue
        sections += [f"### `{rel}`", "", done.stdout.strip(), ""]
    if failed:
        # Half a set of results would replace the last complete one.
        print(
            f"benchmarks that failed: {', '.join(failed)}; {OUT} left unchanged",
            file=sys.stderr,
        )
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    text = "\n".join(sections) + "\n"
    (OUT / "results.md").write_text(text, encoding="utf-8")
    drew = chart(ratio_rows(text), OUT / "ratios.png")
    print(f"\nwrote {OUT / 'results.md'}" + (f" and {OUT / 'ratios.png'}" if drew else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

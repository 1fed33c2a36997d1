"""``--compare OLD.json`` (regressions flagged) and ``--plot FILE.png`` (speed-up bar chart).

>>> old = {"results": [{"workload": "add", "size": 10, "dtype": "float64", "framework": "numpy",
...                     "status": "ok", "median_s": 1.0}]}
>>> new = {"results": [dict(old["results"][0], median_s=1.5)]}
>>> compare_runs(new, old, 0.1)[0]
['add', '10', 'f64', 'numpy', '1.00s', '1.50s', '1.50x slower', 'REGRESSION']
"""
from __future__ import annotations

import json
from typing import Any, Mapping

from tensorc.cli.bench_report import align, fmt_time, group_rows, speedup
from tensorc.cli.bench_runner import fmt_size, short_dtype


def result_key(r: Mapping[str, Any]) -> tuple[str, int, str, str]:
    """What identifies a result across runs."""
    return (r["workload"], int(r["size"]), r["dtype"], r["framework"])


def load_doc(path: str) -> dict[str, Any]:
    """Read a ``--json`` file, checking it looks like one."""
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    if not isinstance(doc, dict) or "results" not in doc:
        raise ValueError(f"{path} is not a tensorc bench JSON file (no 'results')")
    return doc


def compare_runs(new: Mapping[str, Any], old: Mapping[str, Any],
                 threshold: float) -> list[list[str]]:
    """Rows ``[workload, size, dtype, framework, old, new, change, flag]`` for every result
    present in both runs; ``flag`` is REGRESSION when slower by more than ``threshold``
    or newly WRONG/error, ``improved`` when faster by as much, else empty."""
    before = {result_key(r): r for r in old["results"]}
    rows = []
    for r in new["results"]:
        o = before.get(result_key(r))
        if o is None or r["status"] == "n/a":
            continue
        flag, change = "", ""
        if r["status"] != "ok":
            flag = "REGRESSION" if o["status"] == "ok" else ""
            change = r["status"]
        elif o["status"] != "ok":
            change = f"was {o['status']}"
        else:
            ratio = r["median_s"] / o["median_s"]
            change = f"{ratio:.2f}x slower" if ratio >= 1 else f"{1 / ratio:.2f}x faster"
            flag = ("REGRESSION" if ratio > 1 + threshold
                    else "improved" if ratio < 1 / (1 + threshold) else "")
        rows.append([r["workload"], fmt_size(int(r["size"])), short_dtype(r["dtype"]),
                     r["framework"], fmt_time(o.get("median_s")), fmt_time(r.get("median_s")),
                     change, flag])
    return rows


def compare_text(new: Mapping[str, Any], old: Mapping[str, Any], old_path: str,
                 threshold: float) -> tuple[str, int]:
    """The comparison as text, and the number of regressions."""
    rows = compare_runs(new, old, threshold)
    regressions = sum(r[-1] == "REGRESSION" for r in rows)
    head = (f"Compared with {old_path}: {regressions} regression(s) "
            f"(slower by more than {threshold:.0%} or no longer correct), "
            f"{sum(r[-1] == 'improved' for r in rows)} improvement(s), {len(rows)} cells matched")
    if not rows:
        return head + "\n", 0
    header = ["workload", "size", "dtype", "framework", "old", "new", "change", "flag"]
    return "\n".join([head, "", *align(header, rows)]) + "\n", regressions


def plot_speedups(doc: Mapping[str, Any], path: str) -> None:
    """A horizontal grouped bar chart of each framework's speed-up over numpy (log scale)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frameworks = [f for f in doc["frameworks"]["available"] if f != "numpy"]
    rows = group_rows(doc["results"])
    labels = []
    for row in rows:
        first = next(iter(row.values()))
        labels.append(f"{first['title']}  {fmt_size(first['size'])} {short_dtype(first['dtype'])}")
    height = 0.8 / max(len(frameworks), 1)
    fig, ax = plt.subplots(figsize=(10, 0.25 * len(rows) * max(len(frameworks), 1) + 1.5))
    for i, fw in enumerate(frameworks):
        values = [speedup(row.get("numpy"), row.get(fw)) or 0.0 for row in rows]
        ax.barh([j + i * height for j in range(len(rows))], values, height=height, label=fw)
    ax.set_yticks([j + 0.4 - height / 2 for j in range(len(rows))])
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xlabel("speed-up over numpy (log scale, > 1 is faster)")
    ax.set_title(f"tensorc bench — {doc['machine']['cpu']}, {doc['settings']['threads']} threads",
                 fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)

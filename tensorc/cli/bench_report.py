"""Rendering a bench document (the dict also written by ``--json``) as text or markdown.

Everything here reads the JSON document only, so a saved run renders the same as a live one.
Cells show the median per call, ± half the interquartile range, and the speed-up over numpy
(numpy time / framework time: above 1 is faster than numpy).

>>> fmt_time(0.0000012), fmt_time(0.0451), fmt_time(2.5)
('1.20us', '45.1ms', '2.50s')
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from tensorc.cli.bench_env import describe_missing
from tensorc.cli.bench_runner import fmt_size, short_dtype

TENSORC_COLUMNS = ("tensorc-c", "tensorc-numpy")
NOT_PEERS = TENSORC_COLUMNS + ("numpy",)


def fmt_time(seconds: float | None) -> str:
    """Three significant digits with a unit (ns, us, ms, s)."""
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            value = seconds / scale
            digits = 0 if value >= 100 else 1 if value >= 10 else 2
            return f"{value:.{digits}f}{unit}"
    return f"{seconds * 1e9:.0f}ns"


def row_key(r: Mapping[str, Any]) -> tuple[str, int, str]:
    """The row a result belongs to."""
    return (r["workload"], r["size"], r["dtype"])


def group_rows(results: Sequence[Mapping[str, Any]]) -> list[dict[str, Mapping[str, Any]]]:
    """Results grouped by row (in run order), each row ``{framework: result}``."""
    rows: dict[tuple[str, int, str], dict[str, Mapping[str, Any]]] = {}
    for r in results:
        rows.setdefault(row_key(r), {})[r["framework"]] = r
    return list(rows.values())


def speedup(base: Mapping[str, Any] | None, other: Mapping[str, Any] | None) -> float | None:
    """``base median / other median`` when both were timed."""
    if not base or not other or base.get("status") != "ok" or other.get("status") != "ok":
        return None
    return base["median_s"] / other["median_s"]


def tensorc_result(row: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The tensorc column used against peers: C if it ran, else the numpy backend."""
    for fw in TENSORC_COLUMNS:
        if row.get(fw, {}).get("status") == "ok":
            return row[fw]
    return None


def best_peer(row: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The fastest peer that ran correctly on this row."""
    peers = [r for fw, r in row.items() if fw not in NOT_PEERS and r.get("status") == "ok"]
    return min(peers, key=lambda r: r["median_s"]) if peers else None


class Footnotes:
    """Numbers error/WRONG details, one number per distinct (framework, detail)."""

    def __init__(self) -> None:
        self.notes: dict[tuple[str, str, str], int] = {}

    def ref(self, r: Mapping[str, Any]) -> str:
        """``'[n]'`` for this result's detail."""
        key = (r["framework"], r["status"], r.get("detail") or "")
        return f"[{self.notes.setdefault(key, len(self.notes) + 1)}]"

    def lines(self) -> list[str]:
        """The footnotes, in order."""
        return [f"[{n}] {fw} {status}: {detail}" for (fw, status, detail), n in self.notes.items()]


def cell_text(r: Mapping[str, Any] | None, numpy: Mapping[str, Any] | None,
              notes: Footnotes) -> str:
    """One table cell."""
    if r is None or r["status"] == "n/a":
        return "-"
    if r["status"] != "ok":
        return r["status"] + notes.ref(r)
    text = f"{fmt_time(r['median_s'])} ±{100 * spread(r):.0f}%"
    ratio = speedup(numpy, r)
    if ratio is not None and r["framework"] != "numpy":
        text += f" {ratio:.2f}x"
    return text


def spread(r: Mapping[str, Any]) -> float:
    """Half the interquartile range relative to the median."""
    return (r["q3_s"] - r["q1_s"]) / 2 / r["median_s"] if r["median_s"] else 0.0


def main_table(doc: Mapping[str, Any]) -> tuple[list[str], list[list[str]], list[str]]:
    """``(header, rows, footnotes)`` of the main table."""
    frameworks = list(doc["frameworks"]["available"])
    header = ["workload", "size", "dtype", *frameworks, "best peer: tensorc speed-up", "floor"]
    notes = Footnotes()
    rows = []
    for row in group_rows(doc["results"]):
        first = next(iter(row.values()))
        numpy = row.get("numpy")
        cells = [cell_text(row.get(fw), numpy, notes) for fw in frameworks]
        peer, tc = best_peer(row), tensorc_result(row)
        vs = "-"
        if peer is not None:
            ratio = speedup(peer, tc)
            vs = f"{peer['framework']} {ratio:.2f}x" if ratio is not None else f"{peer['framework']}"
        rows.append([first["title"], fmt_size(first["size"]), short_dtype(first["dtype"]),
                     *cells, vs, fmt_time(first.get("floor_s"))])
    return header, rows, notes.lines()


def compile_table(doc: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """``(header, rows)`` of the compile-cost table: import time, then cold/warm per workload."""
    comp = doc.get("compile") or {}
    imports = {i["framework"]: i for i in comp.get("imports", [])}
    entries = comp.get("rows", [])
    workloads = list(dict.fromkeys(e["workload"] for e in entries))
    frameworks = list(dict.fromkeys([*imports, *(e["framework"] for e in entries)]))
    header = ["framework", "import"] + [f"{w} {k}" for w in workloads for k in ("cold", "warm")]
    rows = []
    for fw in frameworks:
        imp = imports.get(fw)
        line = [fw, fmt_time(imp["seconds"]) if imp and imp.get("seconds") is not None else "-"]
        for w in workloads:
            e = next((e for e in entries if e["framework"] == fw and e["workload"] == w), None)
            if e is None:
                line += ["-", "-"]
            elif e["status"] != "ok":
                line += [e["status"], e["status"]]
            else:
                line += [fmt_time(e["cold_s"]), fmt_time(e["warm_s"])]
        rows.append(line)
    return header, rows


def align(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Space-aligned text lines (first column left, the rest right)."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    return [fmt(header), "  ".join("-" * w for w in widths), *(fmt(r) for r in rows)]


def markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A GitHub-flavoured markdown table."""
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join([":--"] + ["--:"] * (len(header) - 1)) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def header_lines(doc: Mapping[str, Any]) -> list[str]:
    """The run's context: versions, machine, threads, BLAS, bandwidth, frameworks."""
    m, s = doc["machine"], doc["settings"]
    fw = doc["frameworks"]
    stream = doc.get("stream") or {}
    bw = (f"{stream['gbps']:.1f} GB/s ({stream['note']}, {stream['threads']} threads)"
          if stream.get("gbps") else stream.get("note", "not measured"))
    env = ", ".join(f"{k}={v}" for k, v in doc.get("env", {}).items()
                    if not k.endswith("_THREADS")) or "none"
    lines = [
        f"tensorc bench {doc['versions'].get('tensorc', '?')} — Python {m['python']}, "
        f"numpy {m['numpy']}, {'quick' if s['quick'] else 'full'} run",
        f"machine: {m['cpu']}, {m['cores']} cores [{' '.join(m['cpu_flags'])}], "
        f"{m['memory_gib']} GiB; {m['compiler'] or 'no C compiler'}",
        f"threads: {s['threads']} for every framework (OMP/MKL/OPENBLAS/NUMEXPR_NUM_THREADS, "
        f"torch.set_num_threads; XLA uses one thread or all cores)",
        f"BLAS: {doc['blas_summary']}; other env: {env}",
        f"memory bandwidth: {bw}",
        "frameworks: " + ", ".join(f"{k} {v}" for k, v in doc["versions"].items()),
    ]
    load = m.get("load_average_1min")
    if load is not None and load > 0.5 * (m["cores"] or 1):
        lines.append(f"warning: load average {load} at start on {m['cores']} cores: other "
                     "processes compete for the CPU, so timings are noisy")
    if fw["missing"]:
        lines.append("not found: " + describe_missing(fw["missing"]))
    s = doc["settings"]
    if s.get("schedule") == "interleaved":
        how = (f" over all samples of {s.get('rounds', 1)} interleaved rounds (each round takes "
               "a block of samples from every framework of the row in turn)")
    elif s.get("passes", 1) > 1:
        how = f" (fastest of {s['passes']} passes, fresh processes in alternating order)"
    else:
        how = ""
    lines.append(f"cells: median per call ±half-IQR{how}, then speed-up over numpy "
                 "(>1 = faster); floor = bytes moved / bandwidth")
    return lines


def render(doc: Mapping[str, Any], as_markdown: bool = False) -> str:
    """The whole report: header, main table, footnotes, compile table."""
    table = markdown if as_markdown else align
    header, rows, notes = main_table(doc)
    out = [("    " if as_markdown else "") + h for h in header_lines(doc)] if as_markdown \
        else header_lines(doc)
    out += ["", *table(header, rows)]
    if notes:
        out += [""] + [("- " if as_markdown else "") + n for n in notes]
    cheader, crows = compile_table(doc)
    if crows:
        from tensorc.cli.bench_compile import COLD_RUNS, IMPORT_RUNS, WARM_RUNS
        out += ["", f"Compile cost (fresh processes, fastest of {COLD_RUNS} cold, {WARM_RUNS} "
                    f"warm, {IMPORT_RUNS} import; cold = empty cache dir, warm = later processes "
                    f"on that cache; import = `import` of the module, all frameworks in "
                    f"interleaved rounds):", "",
                *table(cheader, crows)]
    return "\n".join(out) + "\n"

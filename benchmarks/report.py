"""The tables of docs/benchmarks.md, from reports/benchmark.json (`make docs` writes them there;
`python -m benchmarks` prints them after a run)."""

import json
from collections.abc import Iterable
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "reports" / "benchmark.json"


def load() -> dict:
    return json.loads(RESULTS.read_text())


def runs(r: dict) -> str:
    """The summary: each run against what it is measured against (data, cold, loop, predict)."""
    data, cold, loop, predict = r["data"], r["cold"], r["loop"], r["predict"]
    pairs = zip(cold["tutorial_rounds_seconds"], cold["cold_rounds_seconds"], strict=True)
    rounds = ", ".join(f"{t:.1f} / {c:.1f}" for t, c in pairs)
    return "\n".join(
        [
            "| run | wall s | against |",
            "|---|---|---|",
            f"| tutorial's data path: 50,000 files + Tokenizer + pad_sequences | {data['tutorial_seconds']:.2f} | |",
            f"| pipeline: prepare + encode + pad (three processes) | {data['pipeline_seconds']:.2f} "
            f"| **{data['ratio_pipeline_over_tutorial']:.2f}** x the tutorial's (target <= 1/3) |",
            f"| tutorial script, 10 epochs | {cold['tutorial_script_seconds']:.1f} | |",
            f"| cold `dvc repro`, empty cache | {cold['cold_repro_seconds']:.1f} "
            f"| **{cold['ratio_cold_over_tutorial']}** x the tutorial (target <= 0.7) |",
            f"| warm `dvc repro`, nothing changed | {loop['warm_repro_seconds']:.2f} "
            f"| {loop['warm_repro_seconds'] / loop['dvc_startup_seconds']:.1f} x `dvc --version` "
            f"({loop['dvc_startup_seconds']:.2f} s) |",
            f"| `dvc repro` after editing `train.epochs` ({', '.join(loop['edit_train_epochs_ran'])} ran) "
            f"| {loop['edit_train_epochs_seconds']:.1f} | |",
            f"| `dvc exp run -S train.epochs={loop['exp_run_epochs']}` ({', '.join(loop['exp_run_ran'])} ran) "
            f"| {loop['exp_run_seconds']:.1f} | |",
            f'| `python -m pipeline.predict "one review"`, cold | **{predict["seconds"]:.2f}** '
            f"| {predict['ratio_over_keras_route']} x the Keras route ({predict['keras_route_seconds']:.2f} s, "
            f"{predict['keras_route_peak_rss_mb']} MB against {predict['peak_rss_mb']} MB); target <= 2 s |",
            "",
            f"Medians of {data['rounds']} (data), {cold['rounds']} (cold) and {predict['rounds']} (predict) "
            f"alternating rounds; the cold rounds, tutorial / pipeline: {rounds} s.",
        ]
    )


def table(header: str, rows: Iterable[str]) -> str:
    """A Markdown table: the header's columns, then its separator line, then the rows."""
    return "\n".join([header, "|---" * (header.count("|") - 1) + "|", *rows])


def stages(r: dict) -> str:
    """Each stage as its own process: wall time, peak RSS, throughput."""
    return table(
        "| stage | wall s | peak RSS MB | reviews/s | outside `fit` s |",
        (
            f"| {name} | {s['seconds']:.2f} | {s['peak_rss_mb']:,} | {s['reviews_per_second']:,} "
            f"| {s.get('outside_fit_seconds', '')} |"
            for name, s in r["stages"].items()
        ),
    )


def training(r: dict) -> str:
    """Seconds per epoch of each cell at the default size."""
    base = r["training"]["simple_rnn"]["seconds_per_epoch"]
    return table(
        "| cell (default size) | first epoch s | s / epoch | samples/s | vs simple_rnn |",
        (
            f"| {cell} | {t['first_epoch_seconds']:.1f} | {t['seconds_per_epoch']:.2f} "
            f"| {t['samples_per_second']:,} | {t['seconds_per_epoch'] / base:.2f} x |"
            for cell, t in r["training"].items()
        ),
    )


def scaling(r: dict) -> str:
    """Wall time and peak RSS per stage and corpus size, then 1x against the code before streaming."""
    s = r["scaling"]
    sizes = list(s["sizes"])
    head = " | ".join(f"{k} wall s | {k} peak RSS MB" for k in sizes)
    lines = [f"| stage | {head} | {sizes[-1]} / {sizes[0]} time |", "|---" * (2 * len(sizes) + 2) + "|"]
    for name in s["ratios_16x_over_1x"]:
        cells = " | ".join(
            f"{s['sizes'][k][name]['seconds']:.2f} | {s['sizes'][k][name]['peak_rss_mb']:,}"
            if name in s["sizes"][k]
            else "- | -"
            for k in sizes
        )
        lines.append(f"| {name.replace('_', ' ')} | {cells} | {s['ratios_16x_over_1x'][name]} |")
    if s.get("before_1x"):
        lines += [
            "",
            f"| stage, 1x | before ({s['before']}) wall s | peak RSS MB | after wall s | peak RSS MB "
            "| after / before |",
            "|---|---|---|---|---|---|",
        ]
        for name, b in s["before_1x"].items():
            a = s["sizes"]["1x"][name]
            lines.append(
                f"| {name} | {b['seconds']:.2f} | {b['peak_rss_mb']:,} | {a['seconds']:.2f} | {a['peak_rss_mb']:,} "
                f"| {s['ratios_1x_after_over_before'][name]} |"
            )
    disk = s["disk_mb"]
    lines += ["", f"| disk MB | {' | '.join(disk)} |", "|---" * (len(disk) + 1) + "|"]
    lines += [f"| {what} | {' | '.join(f'{disk[k][what]:,}' for k in disk)} |" for what in next(iter(disk.values()))]
    return "\n".join(lines)


# The name of each table in docs/benchmarks.md's markers, and the parts of benchmark.json it reads.
TABLES = {"runs": runs, "stages": stages, "training": training, "scaling": scaling}
PARTS = {"runs": ("data", "cold", "loop", "predict"), "stages": ("stages",), "training": ("training",)}


def report(r: dict) -> str:
    """Every table whose parts are in `r`."""
    return "\n\n".join(
        table(r) for name, table in TABLES.items() if all(part in r for part in PARTS.get(name, (name,)))
    )


if __name__ == "__main__":
    print(report(load()))

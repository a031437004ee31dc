"""The tutorial's claims, measured (`make study`): cell x maxlen over three seeds, then the
bidirectional and two-layer variants of the best of them, as named DVC experiments.

Every run is the committed params.yaml with early stopping on (patience 2, the best epoch's
weights kept, at most train.epochs), the loop left rolled (unrolling 800 steps would compile
for minutes) and the keys of its configuration set. Writes reports/study/:
- runs.json: each run's params, scores, epochs, parameter count and wall time;
- summary.json: each configuration over its seeds (the noise records `pipeline.compare` reads);
- accuracy_by_maxlen.png: test accuracy against maxlen per cell, mean and sd over the seeds.
docs/study.md's tables are generated from them (`make docs`).

Resumable: a run whose experiment exists on this commit is read back, not run again
(tools/experiments.py). Needs the full data: offline, IMDB_ARCHIVE=/path/to/aclImdb_v1.tar.gz.
"""

import argparse
import re
from pathlib import Path

import yaml

from pipeline import compare
from pipeline.lib import figures, paths
from pipeline.lib.files import write_json
from pipeline.lib.params import layer_units
from pipeline.lib.variants import CELLS
from tools import experiments

STUDY = paths.REPORTS / "study"
RUNS, SUMMARY, FIGURE = STUDY / "runs.json", STUDY / "summary.json", STUDY / "accuracy_by_maxlen.png"

SETTINGS = {"train.early_stopping_patience": 2, "model.unroll": False}
MAXLENS = (100, 200, 400, 800)
SEEDS = 3  # train.seed, train.seed + 1, ...
VARIANTS = {"bidirectional": {"model.bidirectional": True}, "2layers": {"model.layers": 2}}


def grid(cells: list[str], maxlens: tuple[int, ...]) -> dict[str, dict[str, object]]:
    """Configuration name -> the keys it sets."""
    return {f"{cell}-{maxlen}": {"model.cell": cell, "pad.maxlen": maxlen} for cell in cells for maxlen in maxlens}


def run_name(config: str, seed: int) -> str:
    return f"study-{config}-s{seed}"


def seeded(configs: dict[str, dict], seeds: list[int], settings: dict[str, object]) -> list[tuple[str, dict]]:
    """(experiment name, -S overrides) of each configuration and seed."""
    return [
        (run_name(name, seed), {**settings, **keys, compare.SEED: seed})
        for name, keys in configs.items()
        for seed in seeds
    ]


def summarise(configs: dict[str, dict], seeds: list[int], records: list[dict], base: dict[str, object]) -> list[dict]:
    """One noise record per configuration, with its epochs, parameter count and wall time."""
    by_name = {record["name"]: record for record in records}
    summary = []
    for name, keys in configs.items():
        runs = [by_name[run_name(name, seed)] for seed in seeds]
        flat = runs[0]["params"]
        entry = experiments.seed_record(name, runs, base)
        times = [r["wall_seconds"] for r in runs if r["wall_seconds"] is not None]
        entry.update(
            keys=keys,
            maxlen=flat["pad.maxlen"],
            epochs=[r["epochs"] for r in runs],
            parameters=runs[0]["parameters"],
            wall_seconds=round(sum(times), 1),
        )
        summary.append(entry)
    return summary


def best(summary: list[dict]) -> dict:
    return max(summary, key=lambda entry: entry["mean"])


def figure(grid_summary: list[dict], variants: list[dict], maxlens: tuple[int, ...], path: Path) -> None:
    """Mean test accuracy (error bars: sd over seeds) against maxlen, a line per cell; variants as points."""
    fig = figures.new(9.5, 4.5)
    ax = fig.add_subplot()
    for cell in CELLS:
        entries = [e for e in grid_summary if e["keys"]["model.cell"] == cell]
        if entries:
            x, y, sd = ([e[k] for e in entries] for k in ("maxlen", "mean", "sd"))
            ax.errorbar(x, y, yerr=sd, marker="o", capsize=3, label=cell)
    for marker, e in zip("s^D", variants, strict=False):
        ax.errorbar(e["maxlen"], e["mean"], yerr=e["sd"], marker=marker, capsize=3, linestyle="none", label=e["name"])
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(maxlens), [str(m) for m in maxlens])
    ax.set_xlabel("pad.maxlen (tokens kept of each review)")
    ax.set_ylabel("test accuracy (mean ± sd over seeds)")
    ax.set_title("IMDb test accuracy by cell and sequence length")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))  # beside the axes: inside, it hid error bars
    figures.save(fig, path)


RECURRENT_LINE = re.compile(r"^\s+(\w+): (\d+) = formula (\d+)\s+OK$", re.M)


def formula(cell: str, h: int, x: int, directions: int) -> str:
    """The tutorial's count (h + x) * h + h, times the weight blocks of the cell (and GRU's second bias)."""
    spec = CELLS[cell]
    block = f"(({h} + {x}) * {h} + {h})"
    text = block if spec.gates == 1 else f"{spec.gates} * {block}"
    if spec.second_bias:
        text += f" + {spec.gates} * {h}"
    return f"2 * ({text})" if directions == 2 else text


def parameter_rows(summary: list[dict], records: list[dict]) -> list[dict]:
    """Each configuration's recurrent layers: Keras' count (from reports/model_summary.txt) beside the formula."""
    rows = []
    for entry in summary:
        run = next(r for r in records if r["name"] == run_name(entry["name"], entry["seeds"][0]))
        config = run["params"]
        directions = 2 if config["model.bidirectional"] else 1
        width = config["model.embedding_dim"]
        units = layer_units({key.removeprefix("model."): value for key, value in config.items()})
        for (layer, keras_count, checked), h in zip(RECURRENT_LINE.findall(run["summary"]), units, strict=True):
            rows.append(
                {
                    "configuration": entry["name"],
                    "layer": layer,
                    "keras": int(keras_count),
                    "formula": formula(config["model.cell"], h, width, directions),
                    "formula_value": int(checked),
                }
            )
            width = h * directions
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="+", default=list(CELLS), choices=list(CELLS))
    parser.add_argument("--maxlens", nargs="+", type=int, default=list(MAXLENS))
    parser.add_argument("--seeds", type=int, default=SEEDS)
    parser.add_argument("--settings", nargs="*", default=[], metavar="KEY=VALUE", help="more -S keys for every run")
    args = parser.parse_args()
    repo = Path.cwd()
    base = compare.flatten(yaml.safe_load(paths.PARAMS.read_text()))
    seeds = [base[compare.SEED] + i for i in range(args.seeds)]
    settings = {**SETTINGS, **dict(item.split("=", 1) for item in args.settings)}
    maxlens = tuple(args.maxlens)

    configs = grid(args.cells, maxlens)
    records = experiments.run_all(repo, seeded(configs, seeds, settings), RUNS, base)
    grid_summary = summarise(configs, seeds, records, base)
    top = best(grid_summary)
    variants = {f"{top['name']}-{name}": {**top["keys"], **keys} for name, keys in VARIANTS.items()}
    records += experiments.run_all(repo, seeded(variants, seeds, settings), RUNS, base)
    variant_summary = summarise(variants, seeds, records, base)
    summary = grid_summary + variant_summary

    write_json(SUMMARY, summary)
    figure(grid_summary, variant_summary, maxlens, FIGURE)
    for entry in summary:
        print(f"{entry['name']:>28}: {entry['mean']:.4f} ± {entry['sd']:.4f} over seeds {entry['seeds']}")
    minutes = sum(r["wall_seconds"] or 0 for r in records) / 60
    print(f"best of the grid: {top['name']}; {len(records)} runs, {minutes:.1f} minutes of experiments")


if __name__ == "__main__":
    main()

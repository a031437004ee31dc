"""Write the generated tables of README.md and docs/*.md (`make docs`).

Each sits between `<!-- generated: NAME (...) -->` and `<!-- end generated -->` and comes from
a committed file: the benchmark tables from reports/benchmark.json, the results from reports/,
the stages each module re-runs from dvc.yaml, what each parameter allows from
pipeline/lib/params.py. tests/test_docs.py fails when a committed page
differs from what this writes. `python -m tools.docs --check` only reports stale pages.
"""

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from benchmarks import report
from pipeline.lib import paths

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"(<!-- generated: (?P<name>[\w-]+) .*?-->\n)(?P<body>.*?)(<!-- end generated -->)", re.S)


def module_stages() -> str:
    """Each project module, and the stages whose dvc.yaml deps list it."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    modules = sorted({dep for stage in stages.values() for dep in stage["deps"] if dep.endswith(".py")})
    rows = [
        f"| `{module}` | {', '.join(name for name, stage in stages.items() if module in stage['deps'])} |"
        for module in modules
    ]
    return "\n".join(["| module | stages that re-run when it changes |", "|---|---|", *rows])


def results() -> str:
    """The committed run's test scores: the RNN and the TF-IDF baseline."""
    rows = [("RNN (`reports/metrics.json`)", "metrics.json"), ("TF-IDF baseline", "baseline_metrics.json")]
    lines = ["| model | test accuracy | F1 | ROC AUC | loss |", "|---|---|---|---|---|"]
    for label, name in rows:
        m = json.loads((ROOT / "reports" / name).read_text())
        lines.append(f"| {label} | {m['accuracy']:.4f} | {m['f1']:.4f} | {m['roc_auc']:.4f} | {m['loss']:.4f} |")
    return "\n".join(lines)


def over_seeds(record: dict) -> str:
    """A seed record's two cells: the test accuracy per seed, and their mean ± sd."""
    accuracies = ", ".join(f"{a:.4f}" for a in record["accuracies"])
    return f"{accuracies} | **{record['mean']:.4f}** ± {record['sd']:.4f}"


def seed_results() -> str:
    """Test accuracy over seeds: the committed params (reports/seeds.json), the study's best
    configuration (reports/study/summary.json), the moonshot (reports/moonshot.json) and the
    baseline, which has no seed."""
    from tools import study

    def row(label: str, command: str, record: dict) -> str:
        seeds = ", ".join(str(seed) for seed in record["seeds"])
        return f"| {label} | `{command}` | {seeds} | {over_seeds(record)} |"

    lines = ["| model | command | seeds | test accuracy per seed | mean ± sd |", "|---|---|---|---|---|"]
    seeds_file = ROOT / "reports" / "seeds.json"
    committed = [r for r in json.loads(seeds_file.read_text()) if not r["params"]] if seeds_file.exists() else []
    if committed:
        lines.append(row("RNN, the committed params.yaml", f"make seeds N={len(committed[0]['seeds'])}", committed[0]))
    summary = ROOT / study.SUMMARY
    if summary.exists():
        best = max(json.loads(summary.read_text()), key=lambda entry: entry["mean"])
        keys = assignments(best["params"])
        lines.append(row(f"RNN, the study's best ({keys})", "make study", best))
    if (ROOT / paths.MOONSHOT).exists():
        record = moonshot_record()
        lines.append(row(f"RNN, the moonshot ({assignments(record['params'])})", record["command"], record))
    baseline = json.loads((ROOT / "reports" / "baseline_metrics.json").read_text())
    lines.append(
        f"| TF-IDF baseline (no seed) | `make repro` | - | {baseline['accuracy']:.4f} | {baseline['accuracy']:.4f} |"
    )
    return "\n".join(lines)


def params_allowed() -> str:
    """Each key of params.yaml and what `check` allows for it."""
    from pipeline.lib import params

    rows = [f"| `{key}` | {allowed} |" for key, allowed in params.describe().items()]
    return "\n".join(["| key | allowed |", "|---|---|", *rows])


def assignment(key: str, value: object) -> str:
    """A key as `dvc exp run -S` takes it: `model.bidirectional=true`, not Python's True."""
    return f"{key}={json.dumps(value) if isinstance(value, bool) else value}"


def assignments(keys: dict) -> str:
    return " ".join(f"`{assignment(key, value)}`" for key, value in keys.items())


def study_results() -> str:
    """Each configuration of `make study` over its seeds (reports/study/summary.json)."""
    from tools import study

    lines = [
        "| configuration | keys set | parameters | test accuracy per seed | mean ± sd | epochs | minutes |",
        "|---|---|---|---|---|---|---|",
    ]
    for e in json.loads((ROOT / study.SUMMARY).read_text()):
        epochs = ", ".join(str(n) for n in e["epochs"])
        lines.append(
            f"| {e['name']} | {assignments(e['keys'])} | {e['parameters']:,} | {over_seeds(e)} "
            f"| {epochs} | {e['wall_seconds'] / 60:.1f} |"
        )
    return "\n".join(lines)


def study_parameters() -> str:
    """Keras' count of each recurrent layer of the study beside the tutorial's formula."""
    from tools import study

    summary = json.loads((ROOT / study.SUMMARY).read_text())
    runs = json.loads((ROOT / study.RUNS).read_text())
    lines = ["| configuration | layer | Keras counts | formula | = |", "|---|---|---|---|---|"]
    for row in study.parameter_rows(summary, runs):
        name, layer, formula = row["configuration"], row["layer"], row["formula"]
        lines.append(f"| {name} | `{layer}` | {row['keras']:,} | `{formula}` | {row['formula_value']:,} |")
    return "\n".join(lines)


def moonshot_record() -> dict:
    (record,) = json.loads((ROOT / paths.MOONSHOT).read_text())
    return record


def moonshot_results() -> str:
    """The moonshot over its seeds against the baseline, with the epochs each trained (reports/moonshot.json)."""
    record = moonshot_record()
    seeds = ", ".join(str(seed) for seed in record["seeds"])
    epochs = ", ".join(str(n) for n in record["epochs"])
    gain = record["mean"] - record["baseline_accuracy"]
    return "\n".join(
        [
            "| seeds | test accuracy per seed | mean ± sd | baseline | mean - baseline | parameters | epochs trained |",
            "|---|---|---|---|---|---|---|",
            f"| {seeds} | {over_seeds(record)} | {record['baseline_accuracy']:.4f} | {gain:+.4f} "
            f"| {record['parameters']:,} | {epochs} |",
        ]
    )


def moonshot_command() -> str:
    """The moonshot's first seed as one `dvc exp run`: its keys as reports/moonshot.json records them."""
    record = moonshot_record()
    settings = {**record["params"], "train.seed": record["seeds"][0]}
    flags = [f"-S {assignment(key, value)}" for key, value in settings.items()]
    lines, line = [], "dvc exp run"
    for flag in flags:
        if len(line) + len(flag) > 95:
            lines.append(line + " \\")
            line = " "
        line += " " + flag
    return "\n".join(["```bash", *lines, line, "```"])


def moonshot_answers() -> str:
    """The moonshot's first seed and the committed model on hand-written reviews (reports/moonshot.json)."""
    record = moonshot_record()
    seed = record["seeds"][0]
    lines = [f"| review | moonshot (seed {seed}) | committed params.yaml |", "|---|---|---|"]
    for e in record["examples"]:
        lines.append(f"| {e['review']} | {e['moonshot']:.3f} | {e['committed']:.3f} |")
    return "\n".join(lines)


def generators() -> dict[str, Callable[[], str]]:
    bench = report.load()
    tables = {f"benchmark-{name}": (lambda table=table: table(bench)) for name, table in report.TABLES.items()}
    return {
        **tables,
        "module-stages": module_stages,
        "params-allowed": params_allowed,
        "results": results,
        "seed-results": seed_results,
        "study-results": study_results,
        "study-parameters": study_parameters,
        "moonshot-results": moonshot_results,
        "moonshot-command": moonshot_command,
        "moonshot-answers": moonshot_answers,
    }


def render(text: str, tables: dict[str, Callable[[], str]]) -> str:
    """`text` with every generated block rewritten; an unknown name is an error."""

    def block(match: re.Match) -> str:
        name = match["name"]
        if name not in tables:
            raise SystemExit(f"unknown generated block {name!r}; known: {', '.join(tables)}")
        return f"{match[1]}{tables[name]()}\n{match[4]}"

    return BLOCK.sub(block, text)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.docs", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a page is stale")
    args = parser.parse_args()
    tables = generators()
    stale = []
    for page in PAGES:
        text = page.read_text()
        new = render(text, tables)
        if new != text:
            stale.append(page.relative_to(ROOT))
            if not args.check:
                page.write_text(new)
    verb = "stale" if args.check else "rewritten"
    print("\n".join(f"{page}: {verb}" for page in stale) or "every generated table is up to date", file=sys.stderr)
    sys.exit(1 if args.check and stale else 0)


if __name__ == "__main__":
    main()

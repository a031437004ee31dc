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


def params_allowed() -> str:
    """Each key of params.yaml and what `check` allows for it."""
    from pipeline.lib import params

    rows = [f"| `{key}` | {allowed} |" for key, allowed in params.describe().items()]
    return "\n".join(["| key | allowed |", "|---|---|", *rows])


def generators() -> dict[str, Callable[[], str]]:
    bench = report.load()
    tables = {f"benchmark-{name}": (lambda table=table: table(bench)) for name, table in report.TABLES.items()}
    return {**tables, "module-stages": module_stages, "params-allowed": params_allowed, "results": results}


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

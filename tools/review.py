"""A review report for a pull request, offline: `python -m tools.review [REV_A] [REV_B] -o review/`
(`make review`).

Writes OUT/README.md and the figures it links, as CML's reports do but without a CI service:
compare's verdicts (`python -m pipeline.compare --md`), `dvc params diff --md`, `dvc metrics
diff --md`, and each figure that dvc.yaml's stages draw under reports/figures/ at both
revisions, side by side (read at each revision through DVC's file system). REV_A and REV_B as
for compare: HEAD against the workspace by default. Nothing tracked is written; review/ is
git-ignored.
"""

import argparse
import re
import subprocess
import sys
from pathlib import Path

import yaml

from pipeline import compare
from pipeline.lib import paths
from pipeline.lib.cli import PipelineError
from pipeline.lib.files import atomic_path, write_text

OUT = Path("review")


def stage_figures() -> list[Path]:
    """The PNGs that dvc.yaml's stages write under reports/figures/, in dvc.yaml's order."""
    stages = yaml.safe_load(paths.DVC_YAML.read_text(encoding="utf-8"))["stages"]
    found = []
    for stage in stages.values():
        for entry in stage.get("plots", []):
            path = Path(entry if isinstance(entry, str) else next(iter(entry)))
            if path.parent == paths.FIGURES and path.suffix == ".png":
                found.append(path)
    return found


def folder_name(label: str) -> str:
    """A revision's name as a folder: `main~1` -> `main_1`."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", label)


def copy_figures(rev: str | None, label: str, out: Path) -> dict[Path, str]:
    """Each stage figure at `rev` copied under out/figures/<label>/; figure -> its link, relative to out."""
    from dvc.api import DVCFileSystem

    fs = DVCFileSystem(".", rev=rev)
    links = {}
    for figure in stage_figures():
        try:
            data = fs.read_bytes(figure.as_posix())
        except FileNotFoundError:
            continue
        target = out / "figures" / folder_name(label) / figure.name
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
        links[figure] = target.relative_to(out).as_posix()
    return links


def dvc_diff(kind: str, revs: list[str]) -> str:
    """`dvc params diff --md` or `dvc metrics diff --md` between the revisions, or what it said."""
    result = subprocess.run(
        [sys.executable, "-m", "dvc", kind, "diff", "--md", *revs], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise PipelineError(f"dvc {kind} diff {' '.join(revs)}: {result.stderr.strip()}")
    return result.stdout.strip() or f"No {kind} changed."


def report(rev_a: str, rev_b: str | None, out: Path) -> str:
    a, b, rows = compare.compare_revisions(rev_a, rev_b)
    revs = [rev_a] if rev_b is None else [rev_a, rev_b]
    figures_a, figures_b = copy_figures(rev_a, a.name, out), copy_figures(rev_b, b.name, out)
    lines = [
        f"# {a.name} against {b.name}",
        "",
        "## Is the difference real?",
        "",
        compare.markdown_report(a, b, rows).strip(),
        "",
        "## Parameters",
        "",
        dvc_diff("params", revs),
        "",
        "## Metrics",
        "",
        dvc_diff("metrics", revs),
        "",
        "## Figures",
        "",
        f"| figure | {a.name} | {b.name} |",
        "|---|---|---|",
    ]
    for figure in stage_figures():
        cells = [
            f"![{figure.name} at {name}]({links[figure]})" if figure in links else "(none)"
            for name, links in ((a.name, figures_a), (b.name, figures_b))
        ]
        lines.append(f"| {figure.name} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.review", description=__doc__.splitlines()[0])
    parser.add_argument("rev_a", nargs="?", default="HEAD")
    parser.add_argument("rev_b", nargs="?", default=None)
    parser.add_argument("-o", "--out", type=Path, default=OUT, help=f"the report's folder (default {OUT}/)")
    args = parser.parse_args()
    try:
        text = report(args.rev_a, args.rev_b, args.out)
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    write_text(args.out / "README.md", text)
    print(args.out / "README.md")


if __name__ == "__main__":
    main()

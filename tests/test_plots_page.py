"""`dvc plots show` and `dvc plots diff` draw every chart without network.

The real `dvc plots` writes the page in a copy of this repository's plot definitions, templates and
committed reports; Debian's Chromium opens it headless, with every request that is not a local file
blocked, and reads what each chart drew (tools/plots_page.py).
"""

import csv
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, dvc, run_cmd
from dvc_render.base import Renderer
from playwright.sync_api import BrowserContext, sync_playwright

from tools.plots_page import inspect, launch
from tools.vendor_vega import pinned

# vega-embed warns on every chart that the "v5" $schema of DVC's templates names no exact version, and
# DVC's own confusion template leaves its "row" channel empty. Any other warning from the top-level
# charts is a template problem.
KNOWN_WARNINGS = ("The input spec uses Vega-Lite v5, but", "The compiled spec uses Vega v5, but", 'channel "row"')
SERIES = {
    "Accuracy per epoch": ["train", "validation"],
    "Loss per epoch": ["train", "validation"],
    "ROC": ["RNN", "baseline"],
    "Precision-recall": ["RNN", "baseline"],
}
STARS, LENGTH = "Accuracy by star rating", "Accuracy by review length (tokens before truncation)"


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    with sync_playwright() as playwright:
        context = launch(playwright, tmp_path_factory.mktemp("chromium-profile"))
        yield context
        context.close()


@pytest.fixture
def plots_repo(tmp_path: Path) -> Path:
    """A git + DVC repository holding this project's dvc.yaml, .dvc/ settings and templates, and reports/."""
    repo = tmp_path / "repo"
    (repo / ".dvc").mkdir(parents=True)
    for name in ("dvc.yaml", "dvc.lock", "params.yaml", ".gitignore", ".dvc/config"):
        shutil.copy(ROOT / name, repo / name)
    shutil.copytree(ROOT / ".dvc" / "plots", repo / ".dvc" / "plots")
    shutil.copytree(ROOT / "reports", repo / "reports")
    commit(repo, "init", "reports of the full run")
    return repo


def commit(repo: Path, *how: str) -> None:
    if how[0] == "init":
        run_cmd(["git", "init", "-q"], repo)
        run_cmd(["git", "config", "user.email", "test@example.com"], repo)
        run_cmd(["git", "config", "user.name", "test"], repo)
    run_cmd(["git", "add", "-A"], repo)
    run_cmd(["git", "commit", "-qm", how[-1]], repo)


def plot_titles() -> list[str]:
    return [next(iter(plot)) for plot in yaml.safe_load((ROOT / "dvc.yaml").read_text())["plots"]]


def stage_plots() -> list[str]:
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"].values()
    return [next(iter(plot)) if isinstance(plot, dict) else plot for stage in stages for plot in stage.get("plots", [])]


def image_plots() -> list[str]:
    return [path for path in stage_plots() if path.endswith(".png")]


def per_file_chart_ids(repo: Path) -> set[str]:
    """The div ids of the charts DVC draws on its own for each data file of a stage `plots:` output."""
    paths = [repo / path for path in stage_plots() if not path.endswith(".png")]
    files = [file for path in paths for file in (sorted(path.rglob("*")) if path.is_dir() else [path])]
    return {Renderer.remove_special_chars(str(file.relative_to(repo))) for file in files if file.is_file()}


def column(path: Path, name: str) -> list[str]:
    return [row[name] for row in csv.DictReader(path.open(), delimiter="\t" if path.suffix == ".tsv" else ",")]


def unexpected(warnings: list[str]) -> list[str]:
    return [w for w in warnings if not any(known in w for known in KNOWN_WARNINGS)]


def test_show_draws_every_chart_offline_and_readable(plots_repo: Path, browser: BrowserContext) -> None:
    dvc(plots_repo, "plots", "show")
    report = inspect(browser, plots_repo / "dvc_plots" / "index.html")

    assert report.problems() == []
    assert report.versions == dict(pinned()), "the page must carry the vega versions that dvc-render pins"
    assert [chart["title"] for chart in report.charts] == plot_titles()
    assert len(report.images) == len(image_plots()) == 3
    # DVC's own chart of every stage plot data file is there too, but folded away in a closed section.
    assert report.per_file["open"] is False
    assert set(report.per_file["ids"]) == per_file_chart_ids(plots_repo)
    assert len(report.per_file["ids"]) == 13

    charts = {chart["title"]: chart for chart in report.charts}
    for title, names in SERIES.items():
        colour = charts[title]["scales"]["color"]
        assert colour["domain"] == names, title
        assert len(set(colour["range"])) == 2, f"{title}: one colour per series"
        assert all(n >= 30 for n in charts[title]["colour_pixels"].values()), charts[title]["colour_pixels"]
    epochs = len(column(plots_repo / "reports/train/plots/metrics/train/accuracy.tsv", "step"))
    assert charts["Accuracy per epoch"]["scales"]["x"]["domain"] == [1, epochs], "x is the epoch, from 1"

    stars = charts[STARS]["scales"]["y"]["domain"]
    assert stars == column(plots_repo / "reports/plots/model/stars.csv", "stars")
    assert [int(s) for s in stars] == sorted(int(s) for s in stars), f"stars in numeric order: {stars}"
    lengths = charts[LENGTH]["scales"]["y"]["domain"]
    assert lengths == column(plots_repo / "reports/plots/model/length.csv", "tokens")
    lows = [int(label.split("-")[0].rstrip("+")) for label in lengths]
    assert lows == sorted(lows) and lengths[-1].endswith("+"), f"lengths in numeric order: {lengths}"


def test_diff_draws_both_revisions_without_warnings(plots_repo: Path, browser: BrowserContext) -> None:
    """A second commit with other numbers: each chart shows both, series keep their colours. Only the
    top-level plots are kept, so that every warning on the page comes from this project's charts."""
    definitions = yaml.safe_load((plots_repo / "dvc.yaml").read_text())
    (plots_repo / "dvc.yaml").write_text(yaml.safe_dump({"plots": definitions["plots"]}, sort_keys=False))
    commit(plots_repo, "top-level plots only")
    for path in ("reports/plots/model/stars.csv", "reports/train/plots/metrics/eval/accuracy.tsv"):
        file = plots_repo / path
        file.write_text(file.read_text().replace("0.8", "0.7"))
    commit(plots_repo, "lower accuracy")
    dvc(plots_repo, "plots", "diff", "HEAD~1", "HEAD")
    report = inspect(browser, plots_repo / "dvc_plots" / "index.html")

    assert report.problems() == []
    assert unexpected(report.warnings) == []
    assert [chart["title"] for chart in report.charts] == plot_titles()
    assert report.images == [] and report.per_file is None
    charts = {chart["title"]: chart for chart in report.charts}
    for title, names in SERIES.items():
        assert charts[title]["scales"]["color"]["domain"] == names, title
        assert len(charts[title]["scales"]["strokeDash"]["domain"]) == 2, f"{title}: a dash pattern per revision"
    assert len(charts[STARS]["scales"]["yOffset"]["domain"]) == 2
    assert charts[STARS]["marks"] == 2 * len(column(plots_repo / "reports/plots/model/stars.csv", "stars"))
    assert charts[STARS]["scales"]["y"]["domain"] == ["1", "2", "3", "4", "7", "8", "9", "10"]


def test_dvc_default_page_is_caught_blank(plots_repo: Path, browser: BrowserContext) -> None:
    """The check fails on DVC's own page, which loads the libraries from a CDN: every chart blank."""
    dvc(plots_repo, "config", "--unset", "plots.html_template")
    dvc(plots_repo, "plots", "show")
    report = inspect(browser, plots_repo / "dvc_plots" / "index.html")

    assert len(report.blocked) == 3 and all("cdn.jsdelivr.net" in url for url in report.blocked)
    assert report.errors, "the blocked scripts and the missing vegaEmbed show in the console"
    blank = [problem for problem in report.problems() if problem.endswith("blank, vegaEmbed never ran")]
    assert len(blank) == len(report.charts) == len(plot_titles()) + len(per_file_chart_ids(plots_repo))

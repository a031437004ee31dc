"""`dvc plots show` and `dvc plots diff` draw every chart without network.

The real `dvc plots` writes the page in a copy of this repository's plot definitions, templates and
committed reports; Debian's Chromium opens it headless, with every request that is not a local file
blocked, and reads what each chart drew (tools/plots_page.py).
"""

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, commit, committed_reports, dvc
from dvc_render.base import Renderer
from playwright.sync_api import BrowserContext, sync_playwright

from tools.plots_page import inspect, launch
from tools.vendor_vega import pinned

# vega-embed warns on every chart that the "v5" $schema of DVC's templates names no exact version. Any
# other warning from the top-level charts is a template problem.
KNOWN_WARNINGS = ("The input spec uses Vega-Lite v5, but", "The compiled spec uses Vega v5, but")
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
    return committed_reports(tmp_path / "repo")


def headline_models(repo: Path) -> set[str]:
    """The models named in the headline files (rnn, baseline), one row label each."""
    folders = ("reports/plots/model", "reports/plots/baseline")
    return {row["model"] for folder in folders for row in csv.DictReader((repo / folder / "headline.csv").open())}


def headline_cells(repo: Path) -> list[str]:
    """The texts the table must show: each value to 3 decimals, and its interval."""
    cells = []
    for folder in ("reports/plots/model", "reports/plots/baseline"):
        for row in csv.DictReader((repo / folder / "headline.csv").open()):
            low, high = (f"{float(row[k]):.3f}" for k in ("low", "high"))
            cells += [f"{float(row['value']):.3f}", f"{low} \N{EN DASH} {high}"]
    return cells


def mark_texts(chart: dict) -> list[str]:
    return [t["text"] for t in chart["texts"] if t["role"] == "mark"]


def axis_labels(chart: dict, axis: str) -> list[str]:
    return [t["text"] for t in chart["texts"] if t["role"] == "axis-label" and t["axis"] == axis]


def axis_title(chart: dict, axis: str) -> list[str]:
    return [t["text"] for t in chart["texts"] if t["role"] == "axis-title" and t["axis"] == axis]


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
    assert len(report.per_file["ids"]) == 15

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

    # The headline table: every value and interval of both headline.csv files, drawn as text.
    table = charts["Headline metrics"]
    assert sorted(mark_texts(table)) == sorted(headline_cells(plots_repo))
    assert axis_labels(table, "x") == ["accuracy", "f1", "roc_auc"] and sorted(axis_labels(table, "y")) == sorted(
        headline_models(plots_repo)
    )
    # Epoch ticks are whole numbers, even for a short run.
    for title in ("Accuracy per epoch", "Loss per epoch"):
        ticks = axis_labels(charts[title], "x")
        assert ticks and all(tick.isdigit() for tick in ticks), f"{title}: epoch ticks {ticks}"
    # Every bar carries its number of reviews.
    for title, path in ((STARS, "reports/plots/model/stars.csv"), (LENGTH, "reports/plots/model/length.csv")):
        counts = [f"{int(n):,}" for n in column(plots_repo / path, "reviews")]
        assert set(counts) <= set(mark_texts(charts[title])), f"{title}: {mark_texts(charts[title])}"


def test_confusion_counts_drawn_as_in_the_png(plots_repo: Path, browser: BrowserContext) -> None:
    """True label on rows, predicted on columns (as reports/figures/confusion_matrix.png), each
    cell's count written in it; a short run's epochs get whole-number ticks."""
    pairs = list(
        zip(
            column(plots_repo / "reports/plots/model/confusion.csv", "actual"),
            column(plots_repo / "reports/plots/model/confusion.csv", "predicted"),
            strict=True,
        )
    )
    for path in ("train/accuracy.tsv", "eval/accuracy.tsv", "train/loss.tsv", "eval/loss.tsv"):
        file = plots_repo / "reports/train/plots/metrics" / path
        file.write_text("".join(file.read_text().splitlines(keepends=True)[:4]))  # 3 epochs
    dvc(plots_repo, "plots", "show")
    charts = {chart["title"]: chart for chart in inspect(browser, plots_repo / "dvc_plots" / "index.html").charts}

    matrix = charts["Confusion matrix"]
    assert axis_title(matrix, "y") == ["true label"] and axis_title(matrix, "x") == ["predicted label"]
    assert matrix["scales"]["y"]["domain"] == matrix["scales"]["x"]["domain"] == ["neg", "pos"]
    counts = {pair: pairs.count(pair) for pair in set(pairs)}
    assert sorted(mark_texts(matrix)) == sorted(f"{n:,}" for n in counts.values())
    assert axis_labels(charts["Accuracy per epoch"], "x") == ["1", "2", "3"]


def lower(repo: Path, factor: float) -> None:
    """Another run's numbers: every curve and bar of the page scaled by `factor`."""
    for path, name in SCALED:
        file = repo / path
        rows = list(csv.DictReader(file.open(), delimiter="\t" if file.suffix == ".tsv" else ","))
        for row in rows:
            row[name] = f"{float(row[name]) * factor:.6f}"
        with file.open("w", newline="") as out:
            writer = csv.DictWriter(out, rows[0].keys(), delimiter="\t" if file.suffix == ".tsv" else ",")
            writer.writeheader()
            writer.writerows(rows)


SCALED = [
    *(
        (f"reports/train/plots/metrics/{split}/{name}.tsv", name)
        for split in ("train", "eval")
        for name in ("accuracy", "loss")
    ),
    *(
        (f"reports/plots/{model}/{curve}.csv", y)
        for model in ("model", "baseline")
        for curve, y in (("roc", "tpr"), ("precision_recall", "precision"))
    ),
    ("reports/plots/model/stars.csv", "accuracy"),
    ("reports/plots/model/length.csv", "accuracy"),
    ("reports/plots/model/headline.csv", "value"),
]


@pytest.mark.parametrize("revisions", [2, 3])
def test_diff_fits_the_window_and_tells_revisions_apart(
    plots_repo: Path, browser: BrowserContext, revisions: int
) -> None:
    """Commits with other numbers: the page (charts and the side-by-side PNGs) fits a 1400 px window,
    each series of a chart has a colour and a dash pattern per revision, the table a row group per revision."""
    for k in range(1, revisions):
        lower(plots_repo, 1 - 0.04 * k)
        commit(plots_repo, f"lower scores {k}")
    revs = [f"HEAD~{k}" for k in range(revisions - 1, 0, -1)] + ["HEAD"]
    dvc(plots_repo, "plots", "diff", *revs)
    report = inspect(browser, plots_repo / "dvc_plots" / "index.html")

    assert report.problems() == []  # every series drawn in its colour, no sideways scroll
    assert report.width["window"] == 1400 and report.width["page"] <= 1400
    assert len(report.images) == revisions * len(image_plots())
    charts = {chart["title"]: chart for chart in report.charts}
    assert [chart["title"] for chart in report.charts] == plot_titles()
    for title, names in SERIES.items():
        lines = [c for c in charts[title]["colours"] if c["mark"] == "line"]
        for name in names:
            own = [c for c in lines if c["series"] == name]
            assert sorted(c["rev"] for c in own) == sorted(revs), f"{title}: {name} in every revision"
            assert len({c["colour"] for c in own}) == revisions, f"{title}: {name}, a colour per revision: {own}"
            assert len({c["dash"] for c in own}) == revisions, f"{title}: {name}, a dash pattern per revision"
        assert len(charts[title]["scales"]["color"]["domain"]) == len(names) * revisions
    assert len(charts[STARS]["scales"]["yOffset"]["domain"]) == revisions
    assert charts[STARS]["marks"] == 3 * revisions * len(column(plots_repo / "reports/plots/model/stars.csv", "stars"))
    table = charts["Headline metrics"]
    assert [t["text"] for t in table["texts"] if t["role"] == "title-text"][:revisions] == revs  # a row group each
    assert len(mark_texts(table)) == revisions * 12


def test_diff_templates_warn_nothing(plots_repo: Path, browser: BrowserContext) -> None:
    """Only the top-level plots, so that every warning on the page comes from this project's templates
    (DVC's default charts of the stage plot files warn of empty extents)."""
    definitions = yaml.safe_load((plots_repo / "dvc.yaml").read_text())
    (plots_repo / "dvc.yaml").write_text(yaml.safe_dump({"plots": definitions["plots"]}, sort_keys=False))
    commit(plots_repo, "top-level plots only")
    for k in (1, 2):
        lower(plots_repo, 1 - 0.04 * k)
        commit(plots_repo, f"lower scores {k}")
    dvc(plots_repo, "plots", "diff", "HEAD~2", "HEAD~1", "HEAD")
    report = inspect(browser, plots_repo / "dvc_plots" / "index.html")

    assert report.problems() == []
    assert unexpected(report.warnings) == []
    assert [chart["title"] for chart in report.charts] == plot_titles()
    assert report.images == [] and report.per_file is None


def test_dvc_default_page_is_caught_blank(plots_repo: Path, browser: BrowserContext) -> None:
    """The check fails on DVC's own page, which loads the libraries from a CDN: every chart blank."""
    dvc(plots_repo, "config", "--unset", "plots.html_template")
    dvc(plots_repo, "plots", "show")
    report = inspect(browser, plots_repo / "dvc_plots" / "index.html")

    assert len(report.blocked) == 3 and all("cdn.jsdelivr.net" in url for url in report.blocked)
    assert report.errors, "the blocked scripts and the missing vegaEmbed show in the console"
    blank = [problem for problem in report.problems() if problem.endswith("blank, vegaEmbed never ran")]
    assert len(blank) == len(report.charts) == len(plot_titles()) + len(per_file_chart_ids(plots_repo))

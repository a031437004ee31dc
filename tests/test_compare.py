"""Every run's test scores at any revision, and `python -m pipeline.compare` on real runs: the
learned tiny pipeline (tests/pipelines.py), pushed to a local remote, against an experiment that
barely trains."""

import csv
import io
import json
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import dvc.api as dvc_api
import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import ROOT, dvc, make_dvc_repo, run_cmd
from pipelines import read_params, workspace

from pipeline import compare
from pipeline.lib import paths

SLOW = ("-S", "train.learning_rate=0.00001", "-S", "train.epochs=1")  # near chance: a real difference


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The learned tiny run committed and pushed, plus the experiment `slow`, applied in the workspace."""
    root = tmp_path_factory.mktemp("compare")
    repo = root / "origin"
    shutil.copytree(workspace(tmp_path_factory, "base").path, repo, symlinks=True)
    dvc(repo, "remote", "add", "-d", "local", str(root / "remote"))
    run_cmd(["git", "commit", "-qam", "remote"], repo)
    dvc(repo, "push")
    dvc(repo, "exp", "run", "-n", "slow", *SLOW)
    return repo


def run_compare(repo: Path, *args: str, check: bool = True) -> str:
    result = run_cmd([sys.executable, "-m", "pipeline.compare", *args], repo, check=check)
    return result.stdout if check else result


def read_scores(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def seeds(repo: Path) -> Iterator[Path]:
    path = repo / paths.SEEDS
    yield path
    path.unlink(missing_ok=True)


def test_every_run_keeps_its_test_scores(repo: Path) -> None:
    """At a commit, at an experiment and in the workspace, with dvc.api: one row per test review,
    in data/prepared's order, the probability that evaluate's metrics come from."""
    test = pq.read_table(repo / "data/prepared/test.parquet", columns=["id", "label"])
    for model, path in paths.MODEL_SCORES.items():
        with dvc_api.open(path.as_posix(), repo=str(repo), rev="HEAD") as f:
            committed = read_scores(f.read())
        assert list(committed[0]) == ["id", "label", "probability"]
        assert [int(row["id"]) for row in committed] == test.column("id").to_pylist()
        assert [int(row["label"]) for row in committed] == test.column("label").to_pylist()
        experiment = read_scores(dvc_api.read(path.as_posix(), repo=str(repo), rev="slow"))
        assert read_scores((repo / path).read_text()) == experiment
        if model == "rnn":
            assert experiment != committed, "another training, other probabilities"
            metrics = json.loads(dvc_api.read("reports/metrics.json", repo=str(repo), rev="HEAD"))
            threshold = read_params(repo)["evaluate"]["threshold"]
            right = [(float(row["probability"]) >= threshold) == (row["label"] == "1") for row in committed]
            assert sum(right) / len(right) == metrics["accuracy"]
        else:
            assert experiment == committed, "the baseline does not train with the RNN's settings"
    tracked = run_cmd(["git", "ls-files", "data/scores"], repo).stdout.split()
    assert tracked == ["data/scores/.gitignore"], "DVC-cached, not in git"


def test_scores_come_from_the_remote_in_a_fresh_clone(repo: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    run_cmd(["git", "clone", "-q", str(repo), str(clone)], tmp_path)
    assert not (clone / ".dvc/cache").exists()
    text = dvc_api.read(paths.MODEL_SCORES["rnn"].as_posix(), repo=str(clone), rev="HEAD")
    with dvc_api.open(paths.MODEL_SCORES["rnn"].as_posix(), repo=str(repo), rev="HEAD") as f:
        assert text == f.read()
    assert "rnn: within test-set noise" in run_compare(clone, "HEAD", "HEAD")
    dvc(clone, "remote", "modify", "local", "url", str(tmp_path / "gone"))
    result = run_compare(clone, "HEAD", check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == (
        "error: HEAD: data/scores/rnn.csv not found: dvc.lock records it, but it is in neither the cache nor the "
        "remote: `dvc pull` (or `dvc repro`)\n"
    )


def test_a_real_difference_and_no_difference(repo: Path) -> None:
    out = run_compare(repo, "HEAD", "slow")
    lines = out.splitlines()
    assert lines[0].startswith("test accuracy, HEAD against slow, on 120 test reviews")
    assert lines[-2:] == ["rnn: real at 95%", "baseline: within test-set noise"]
    assert "+0.0000 [+0.0000, +0.0000]  1          no seed" in out  # the baseline: the same scores
    # HEAD against the workspace by default, where the experiment's results are.
    default = run_compare(repo).splitlines()
    assert [line.split() for line in default[2:]] == [line.split() for line in lines[2:]]


def test_within_seed_noise_with_a_seed_study(repo: Path, seeds: Path, tmp_path: Path) -> None:
    """A study of the committed configuration whose sd makes the difference look small; the
    experiment's configuration (another learning rate) borrows it."""
    params = yaml.safe_load(dvc_api.read("params.yaml", repo=str(repo), rev="HEAD"))
    # Written before model.pooling existed: it matches at params.yaml's value of the key.
    config = {
        key: value for key, value in compare.configuration(compare.flatten(params)).items() if key != "model.pooling"
    }
    record = {"name": "committed", "params": {}, "config": config, "seeds": [1, 2]}
    seeds.write_text(json.dumps([{**record, "accuracies": [0.4, 0.9], "mean": 0.65, "sd": 0.35355}]))
    out = run_compare(repo, "HEAD", "slow")
    assert out.splitlines()[-2:] == ["rnn: within seed noise", "baseline: within test-set noise"]
    assert "±0.9800 (2/- seeds)" in out
    md = run_compare(repo, "HEAD", "slow", "--md")
    assert md.startswith("| model | HEAD | slow | difference | McNemar p | seed noise | verdict |\n|---|")
    assert "| **within seed noise** |" in md and "| **within test-set noise** |" in md
    review = run_cmd(
        [sys.executable, "-m", "tools.review", "HEAD", "slow", "-o", str(tmp_path / "review")],
        repo,
        PYTHONPATH=str(ROOT),
    )
    assert (
        review.returncode == 0
        and "| ±0.9800 (2/- seeds) | **within seed noise** |" in (tmp_path / "review" / "README.md").read_text()
    )
    # A tiny sd: the difference is beyond it.
    seeds.write_text(json.dumps([{**record, "accuracies": [0.80, 0.81], "mean": 0.805, "sd": 0.00707}]))
    assert run_compare(repo, "HEAD", "slow").splitlines()[-2] == "rnn: real at 95%"
    seeds.write_text('{"not": "a list"}')
    result = run_compare(repo, "HEAD", "slow", check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error: reports/seeds.json: expected a list of seed records with keys")


def test_unknown_revision_and_revision_without_scores(repo: Path, tmp_path: Path) -> None:
    result = run_compare(repo, "no-such-thing", check=False)
    assert (result.returncode, result.stderr) == (
        1,
        "error: unknown revision 'no-such-thing': not a commit, branch, tag or experiment name\n",
    )
    never_ran = make_dvc_repo(tmp_path / "never", tmp_path / "none.tar.gz")
    result = run_compare(never_ran, "HEAD", check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == (
        "error: HEAD: data/scores/rnn.csv not found: no run of this revision wrote it (not in its dvc.lock): "
        "run the pipeline (`dvc repro` or `dvc exp run`)\n"
    )


def test_seeds_records_the_configuration_and_compare_uses_it(repo: Path, tmp_path: Path) -> None:
    """`python -m tools.seeds 2` on the committed params: two named experiments, their mean and sd
    in reports/seeds.json; run again, nothing runs and the record is replaced, not repeated."""
    copy = tmp_path / "repo"
    shutil.copytree(repo, copy, symlinks=True)
    run_cmd(["git", "checkout", "--", "."], copy)
    dvc(copy, "checkout")
    out = run_cmd([sys.executable, "-m", "tools.seeds", "2"], copy, PYTHONPATH=str(ROOT)).stdout
    params = read_params(copy)
    seed = params["train"]["seed"]
    (record,) = json.loads((copy / paths.SEEDS).read_text())
    assert record["config"] == compare.configuration(compare.flatten(params)) and record["params"] == {}
    assert record["seeds"] == [seed, seed + 1]
    accuracies = []
    for s in record["seeds"]:
        ref = f"{record['name']}-s{s}"
        accuracies.append(json.loads(dvc_api.read("reports/metrics.json", repo=str(copy), rev=ref))["accuracy"])
    assert record["accuracies"] == accuracies
    assert record["mean"] == pytest.approx(sum(accuracies) / 2, abs=1e-6)
    assert record["sd"] == pytest.approx(abs(accuracies[0] - accuracies[1]) / 2**0.5, abs=1e-6)
    assert out.splitlines()[-1].startswith(f"{record['name']}: {record['mean']:.4f} ± {record['sd']:.4f} over 2 seeds")
    again = run_cmd([sys.executable, "-m", "tools.seeds", "2"], copy, PYTHONPATH=str(ROOT))
    assert "Running stage" not in again.stdout + again.stderr
    assert json.loads((copy / paths.SEEDS).read_text()) == [record]
    assert "(2/- seeds)" in run_compare(copy, "HEAD", "slow")


def test_review_report_offline(repo: Path, tmp_path: Path) -> None:
    """One Markdown file with compare's verdicts, the params and metrics diffs, and both
    revisions' figures beside it; nothing tracked rewritten."""
    status = run_cmd(["git", "status", "--porcelain"], repo).stdout
    out = tmp_path / "review"
    run_cmd([sys.executable, "-m", "tools.review", "HEAD", "slow", "-o", str(out)], repo, PYTHONPATH=str(ROOT))
    text = (out / "README.md").read_text()
    tables = re.sub(r" +", " ", text)
    assert text.startswith("# HEAD against slow\n")
    assert "| rnn | " in text and "**real at 95%**" in text
    assert "| params.yaml | train.learning_rate | 0.01 | 1e-05 |" in tables
    assert re.search(r"\| reports/metrics\.json \| accuracy \| [\d.]+ \| [\d.]+ \| -[\d.]+ \|", tables)
    links = re.findall(r"!\[[^]]*\]\(([^)]+)\)", text)
    assert sorted(links) == sorted(
        f"figures/{rev}/{name}"
        for rev in ("HEAD", "slow")
        for name in ("history.png", "confusion_matrix.png", "roc.png")
    )
    for link in links:
        assert (out / link).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "figures/slow/history.png").read_bytes() == dvc_api.read(
        "reports/figures/history.png", repo=str(repo), rev="slow", mode="rb"
    )
    assert run_cmd(["git", "status", "--porcelain"], repo).stdout == status


def test_a_study_older_than_a_parameter_still_matches_at_its_default() -> None:
    """A record written before model.pooling existed ran the model that pooling's default builds;
    one that differs in a key both know, or that the default does not give, is another configuration."""
    defaults = {"model.cell": "simple_rnn", "model.pooling": "last", "pad.maxlen": 100}
    old = {"name": "old", "config": {"model.cell": "gru", "pad.maxlen": 800}, "seeds": [1, 2], "sd": 0.01}
    assert (
        compare.seed_sd({"model": {"cell": "gru", "pooling": "last"}, "pad": {"maxlen": 800}}, [old], defaults) == old
    )
    assert (
        compare.seed_sd({"model": {"cell": "gru", "pooling": "max"}, "pad": {"maxlen": 800}}, [old], defaults) is None
    )
    assert (
        compare.seed_sd({"model": {"cell": "gru", "pooling": "last"}, "pad": {"maxlen": 400}}, [old], defaults) is None
    )
    assert compare.seed_sd({"model": {"cell": "gru", "pooling": "last"}, "pad": {"maxlen": 800}}, [old]) is None
    # A revision older than a key the record holds: the same rule, the other way round.
    new = {**old, "config": {"model.cell": "gru", "model.pooling": "last", "pad.maxlen": 800}}
    assert compare.seed_sd({"model": {"cell": "gru"}, "pad": {"maxlen": 800}}, [new], defaults) == new
    assert (
        compare.seed_sd({"model": {"cell": "gru"}, "pad": {"maxlen": 800}}, [{**new, "seeds": [1]}], defaults) is None
    )


def test_two_seed_studies_decide_by_their_means() -> None:
    """Welch's interval of the difference of the studies' means, as scipy computes it from the
    accuracies; the same study on both sides is seed noise however far apart its runs are."""
    from scipy import stats

    defaults, gru = [0.8087, 0.7262, 0.8032, 0.7822, 0.8076], [0.8707, 0.8728, 0.8701]
    a, b = (
        {"seeds": list(range(len(x))), "mean": float(np.mean(x)), "sd": float(np.std(x, ddof=1))}
        for x in (defaults, gru)
    )
    difference, (low, high) = compare.means_difference(a, b)
    expected = stats.ttest_ind(gru, defaults, equal_var=False).confidence_interval(0.95)
    assert difference == pytest.approx(np.mean(gru) - np.mean(defaults))
    assert (low, high) == pytest.approx((expected.low, expected.high))
    gain = {"difference": 0.062, "difference_interval": (0.057, 0.067), "p": 1e-100}
    band = compare.seed_band(a, b)
    assert band > 0.062  # one run of each: inside the band of two single runs ...
    assert compare.verdict(gain, band) == compare.SEED_NOISE
    assert compare.verdict(gain, band, (difference, (low, high))) == compare.REAL  # ... not of 5 and 3
    same = compare.means_difference(a, a)
    assert same == (0.0, pytest.approx((-same[1][1], same[1][1]))) and same[1][1] > 0
    assert compare.verdict({**gain, "difference": -0.082, "difference_interval": (-0.09, -0.07)}, band, same) == (
        compare.SEED_NOISE
    )
    # A study that points the other way from the runs' difference is not evidence for it.
    assert (
        compare.verdict(
            {**gain, "difference": -0.01, "difference_interval": (-0.02, -0.005)}, band, (difference, (low, high))
        )
        == compare.SEED_NOISE
    )
    flat = {"seeds": [1, 2], "mean": 0.8, "sd": 0.0}
    assert compare.means_difference(flat, {**flat, "mean": 0.9}) == (
        pytest.approx(0.1),
        (pytest.approx(0.1), pytest.approx(0.1)),
    )

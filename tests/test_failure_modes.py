"""docs/failure-modes.md, row by row, through the real command line: exit 1, one `error:`
line on stderr (the last), no traceback, and nothing half-written."""

import hashlib
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, ArchiveServer, run_cmd, tiny_params, tiny_reviews, write_archive

from pipeline.lib import paths


def stage(repo: Path, module: str, *args: str, stdin: str | None = None, **env: str):
    """A stage as DVC runs it: `python -m pipeline.<module>` from the repository root."""
    command = [sys.executable, "-m", f"pipeline.{module}", *args]
    return run_cmd(command, repo, check=False, stdin=stdin, PYTHONPATH=str(ROOT), **env)


def assert_one_line(result, expected: str) -> None:
    lines = result.stderr.splitlines()
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert [line for line in lines if line.startswith("error:")] == lines[-1:]
    assert re.fullmatch(expected, lines[-1]), lines[-1]


@pytest.fixture
def repo(tmp_path: Path, tiny_archive: Path) -> Path:
    """A working directory with the tiny params and the tiny archive as the download's source."""
    repo = tmp_path / "repo"
    repo.mkdir()
    write_params(repo, tiny_params(tiny_archive))
    return repo


def write_params(repo: Path, params: dict) -> None:
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def edit_params(repo: Path, change: Callable[[dict], None]) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    change(params)
    write_params(repo, params)


def place_archive(repo: Path, members: dict[str, bytes]) -> Path:
    return write_archive(repo / paths.ARCHIVE, members)


def test_wrong_archive(repo: Path, tiny_archive: Path) -> None:
    edit_params(repo, lambda p: p["data"].update(sha256="0" * 64))
    digest = hashlib.sha256(tiny_archive.read_bytes()).hexdigest()
    assert_one_line(stage(repo, "download"), rf"error: {tiny_archive}: sha256 mismatch: expected 0{{64}}, got {digest}")
    assert list((repo / "data" / "raw").iterdir()) == []


def test_mirror_with_other_reviews(repo: Path) -> None:
    edit_params(repo, lambda p: p["data"].update(sha256="0" * 64, reviews_sha256="1" * 64))
    assert_one_line(
        stage(repo, "download"),
        r"error: .*: sha256 mismatch: expected 0{64}, got \w{64}; "
        r"reviews digest \w{64} does not match data.reviews_sha256 1{64} either",
    )


def test_no_network(repo: Path) -> None:
    edit_params(repo, lambda p: p["data"].update(url="http://127.0.0.1:9/aclImdb_v1.tar.gz", retries=0))
    assert_one_line(
        stage(repo, "download"),
        r"error: cannot download http://127.0.0.1:9/aclImdb_v1.tar.gz: .*refused.*; offline\? set "
        r"IMDB_ARCHIVE=/path/to/aclImdb_v1.tar.gz, or data.url to a local path",
    )


@pytest.mark.parametrize(
    ("status", "expected"), [(404, r"HTTP 404 Not Found"), (500, r"HTTP Error 500: Internal Server Error; offline.*")]
)
def test_http_errors(repo: Path, archive_server: ArchiveServer, status: int, expected: str) -> None:
    archive_server.behaviour.status = status
    edit_params(repo, lambda p: p["data"].update(url=archive_server.url, retries=1))
    assert_one_line(stage(repo, "download"), rf"error: cannot download {re.escape(archive_server.url)}: {expected}")


def test_stalled_server(repo: Path, archive_server: ArchiveServer) -> None:
    archive_server.behaviour.stall = 3
    edit_params(repo, lambda p: p["data"].update(url=archive_server.url, timeout=0.5, retries=0))
    assert_one_line(
        stage(repo, "download"), rf"error: cannot download {re.escape(archive_server.url)}: timed out; offline\? .*"
    )


def test_truncated_archive(repo: Path, tiny_archive: Path) -> None:
    (repo / paths.ARCHIVE).parent.mkdir(parents=True)
    (repo / paths.ARCHIVE).write_bytes(tiny_archive.read_bytes()[:-300])
    assert_one_line(stage(repo, "prepare"), r"error: data/raw/aclImdb_v1.tar.gz: not a readable .tar.gz archive \(.+\)")
    assert not (repo / paths.PREPARED).exists()


def test_a_split_folder_missing(repo: Path) -> None:
    place_archive(repo, {k: v for k, v in tiny_reviews().items() if "/test/neg/" not in k})
    assert_one_line(stage(repo, "prepare"), r"error: data/raw/aclImdb_v1.tar.gz: no reviews in aclImdb/test/neg/")


def test_unexpected_review_count(repo: Path) -> None:
    place_archive(repo, tiny_reviews())
    edit_params(repo, lambda p: p["prepare"].update(reviews_per_split=25000))
    assert_one_line(
        stage(repo, "prepare"),
        r"error: data/raw/aclImdb_v1.tar.gz: train has 24 reviews, expected 25000 "
        r"\(prepare.reviews_per_split; 0 accepts any count\)",
    )


def test_bad_members_are_warned_about_by_name(repo: Path) -> None:
    members = tiny_reviews()
    members["aclImdb/train/pos/0_7.txt"] = b"caf\xe9 latin-1"
    members["aclImdb/test/neg/1_2.txt"] = b"<br /><br />"
    members["aclImdb/train/pos/../../escape_7.txt"] = b"evil"
    place_archive(repo, members)
    result = stage(repo, "prepare")
    assert result.returncode == 0, result.stderr
    assert "aclImdb/train/pos/0_7.txt: not valid UTF-8" in result.stderr
    assert "aclImdb/test/neg/1_2.txt: empty review" in result.stderr
    assert "ignoring unsafe member name 'aclImdb/train/pos/../../escape_7.txt'" in result.stderr
    assert not (repo.parent / "escape_7.txt").exists()


PARAM_ERRORS = {
    "bad parameter": (
        lambda p: p["pad"].update(maxlen=0),
        r"error: params.yaml: pad.maxlen = 0 is invalid: expected an integer in \[1, 10000\]",
    ),
    "renamed key": (
        lambda p: p["train"].update(epoch=p["train"].pop("epochs")),
        r"error: params.yaml: unknown key train.epoch: did you mean train.epochs\?",
    ),
    "units against layers": (
        lambda p: p["model"].update(layers=3, units=[32, 16]),
        r"error: params.yaml: model.units lists 2 sizes but model.layers = 3: .+",
    ),
}


@pytest.mark.parametrize("case", PARAM_ERRORS, ids=list(PARAM_ERRORS))
@pytest.mark.parametrize("module", ["check", "pad"])
def test_parameter_errors(repo: Path, case: str, module: str) -> None:
    change, expected = PARAM_ERRORS[case]
    edit_params(repo, change)
    assert_one_line(stage(repo, module), expected)


def test_yaml_syntax_error(repo: Path) -> None:
    (repo / "params.yaml").write_text("data:\n  url: x\n  sha256: [1\n  timeout: 3\n")
    assert_one_line(stage(repo, "check"), r"error: params.yaml: invalid YAML at line \d+, column \d+: .+")


def test_predict_errors(repo: Path) -> None:
    (repo / paths.VOCAB).parent.mkdir(parents=True)
    (repo / paths.VOCAB).write_text('{"num_words": 50, "words": ["film"]}')
    no_input = r"error: no review to classify: pass text as arguments, --file FILE, or lines on stdin"
    assert_one_line(stage(repo, "predict", stdin="\n \n"), no_input)
    (repo / "blob.bin").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    assert_one_line(
        stage(repo, "predict", "--file", "blob.bin"),
        r"error: blob.bin: binary data \(NUL bytes\), expected text with one review per line",
    )
    assert_one_line(
        stage(repo, "predict", "a review"), r"error: models/model.npz: not found; run `dvc repro` to build it"
    )


def table_rows(text: str) -> list[str]:
    return [line.split("|")[1].strip() for line in text.splitlines() if line.startswith("| ") and "---" not in line]


def test_the_readme_table_has_a_test_for_each_row() -> None:
    page = (ROOT / "docs" / "failure-modes.md").read_text()
    rows = table_rows(page[: page.index("## When a run is disturbed")])
    # 17 rows here; the multi_worker rows after them run in tests/test_multi_worker.py, compare's in
    # tests/test_compare.py
    assert len(rows) - 1 == 22 and rows[18].startswith("multi_worker without"), "a new row needs a test"
    assert rows[21:] == ["compare: unknown revision", "compare: a revision without test scores"]


DISTURBED = {  # each row of "When a run is disturbed", the test of tests/test_integrity.py that drives it
    "`params.yaml` edited while a stage runs": "test_a_params_edit_during_a_stage_fails_it_and_records_nothing",
    "`dvc exp run -S key=value` while `dvc repro` runs": (
        "test_an_experiment_started_during_a_run_neither_corrupts_the_record_nor_loses_an_edit"
    ),
    "an input whose bytes are not what `dvc.lock` records (a damaged cache object, a hand edit)": (
        "test_a_corrupted_cache_object_is_refused_by_the_stage_that_reads_it"
    ),
    "a damaged `.npz` (zip CRC of a memory-mapped array, a cut file) or vocabulary, run by hand": (
        "test_predict_bounds_its_input_and_names_a_damaged_model"
    ),
    "Ctrl-C, SIGTERM or `kill -9` of a stage": "test_an_interrupted_stage_leaves_no_output_of_its_own",
    "`dvc` killed, its stage still running": "test_an_orphaned_stage_and_a_rerun_never_both_write",
    "a value that would crash a stage after DVC removed its outputs": (
        "test_values_that_would_crash_a_stage_stop_at_check_with_every_output_kept"
    ),
    "YAML aliases, repeated keys, bytes that are not UTF-8": "test_hostile_yaml_is_refused_at_once_in_one_line",
    "`IMDB_ARCHIVE` pointing at other bytes": "test_the_archive_is_part_of_the_record",
    "predict: escape sequences, a lone carriage return, endless input": (
        "test_predict_echoes_no_control_characters_and_answers_line_for_line"
    ),
    "a huge review in the test set": "test_git_tracked_reports_cut_long_reviews",
    "`dvc.lock` cut or empty (`dvc` killed while writing it: DVC writes it in place)": (
        "test_a_cut_or_empty_dvc_lock_is_recovered_from_the_run_cache"
    ),
}


def test_every_disturbance_row_has_its_test() -> None:
    page = (ROOT / "docs" / "failure-modes.md").read_text()
    assert table_rows(page[page.index("## When a run is disturbed") :])[1:] == list(DISTURBED)
    defined = (ROOT / "tests" / "test_integrity.py").read_text() + (ROOT / "tests" / "test_params.py").read_text()
    assert [name for name in DISTURBED.values() if f"def {name}(" not in defined] == []

"""Stage `prepare`: cleaning, member parsing, byte-identical outputs and bad archives."""

import gzip
import json
import tarfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import in_repo, tiny_params, tiny_reviews, write_archive

from pipeline import prepare
from pipeline.lib import cleaning, paths
from pipeline.lib.cli import PipelineError


def test_clean_text_strips_tags_with_a_space_and_decodes_entities() -> None:
    cleaned = cleaning.clean_text('end.<br /><br />The <a href="x">film</a> &amp; &quot;café&quot; &lt;3')
    assert cleaned == 'end.  The  film  & "café" <3'


def read_splits(archive: Path, out: Path, expected: int = 0, **streaming: int) -> tuple[dict[str, list[dict]], dict]:
    """prepare's rows per split, and its report."""
    report = prepare.prepare(archive, out, expected, **streaming)
    return {split: pq.read_table(out / f"{split}.parquet").to_pylist() for split in paths.SPLITS}, report


def test_rows_carry_id_stars_label_and_clean_non_ascii_text(tiny_archive: Path, tmp_path: Path) -> None:
    rows, counts = read_splits(tiny_archive, tmp_path / "prepared")
    assert [len(rows[s]) for s in paths.SPLITS] == [24, 24]
    assert counts["train"]["pos"] == counts["train"]["neg"] == 12
    first = rows["train"][0]
    assert (first["id"], first["stars"], first["label"]) == (0, 7, 1)
    assert first["text"].startswith("A café scene in Zürich & a naïve hero.  Then Tōkyō 東京 — wow 🎬")
    assert all("<" not in row["text"] or "<3" in row["text"] for row in rows["train"])
    # positives first, each label by id; the unsup reviews are skipped
    assert [(r["label"], r["id"]) for r in rows["test"]] == sorted(
        ((r["label"], r["id"]) for r in rows["test"]), key=lambda k: (-k[0], k[1])
    )
    negative_stars = {r["stars"] for r in rows["train"] if r["label"] == 0}
    assert negative_stars == {1, 2, 3, 4}


def run_prepare(monkeypatch: pytest.MonkeyPatch, repo: Path, archive: Path) -> dict:
    in_repo(monkeypatch, repo, tiny_params(archive))
    (repo / paths.ARCHIVE).parent.mkdir(parents=True, exist_ok=True)
    (repo / paths.ARCHIVE).write_bytes(archive.read_bytes())
    prepare.main()
    return json.loads(paths.PREPARE_REPORT.read_text())


def test_same_reviews_in_another_order_give_identical_bytes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    members = tiny_reviews()
    outputs = []
    for name, order in (("a", members), ("b", dict(reversed(list(members.items()))))):
        archive = write_archive(tmp_path / f"{name}.tar.gz", order)
        run_prepare(monkeypatch, tmp_path / name, archive)
        outputs.append([(tmp_path / name / paths.PREPARED / f"{s}.parquet").read_bytes() for s in paths.SPLITS])
    assert outputs[0] == outputs[1]
    table = pq.read_table(tmp_path / "a" / paths.PREPARED / "train.parquet")
    assert table.column_names == ["id", "stars", "label", "text"]


def test_invalid_utf8_and_empty_reviews_are_counted_not_fatal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    members = tiny_reviews()
    members["aclImdb/train/pos/0_7.txt"] = b"caf\xe9 in latin-1 \xff"
    members["aclImdb/test/neg/1_2.txt"] = b"<br /><br />"
    report = run_prepare(monkeypatch, tmp_path / "r", write_archive(tmp_path / "a.tar.gz", members))
    assert report["train"]["invalid_utf8"] == 1
    assert report["test"]["empty"] == 1
    assert report["train"] == {"reviews": 24, "pos": 12, "neg": 12, "invalid_utf8": 1, "empty": 0}
    text = pq.read_table(paths.PREPARED / "train.parquet").column("text")[0].as_py()
    assert text == "caf\ufffd in latin-1 \ufffd"


def test_unsafe_member_names_are_never_read_or_written(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    members = tiny_reviews()
    members["aclImdb/train/pos/../../../escape_7.txt"] = b"evil"
    members["/aclImdb/train/pos/99_7.txt"] = b"evil"
    archive = write_archive(tmp_path / "src" / "a.tar.gz", members)
    report = run_prepare(monkeypatch, tmp_path / "work" / "repo", archive)  # the whole stage, as DVC runs it
    assert report["train"]["reviews"] == 24
    assert "evil" not in pq.read_table(paths.PREPARED / "train.parquet").column("text").to_pylist()
    written = {str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*") if path.is_file()}
    assert written == {
        "src/a.tar.gz",
        "work/repo/params.yaml",
        "work/repo/data/raw/aclImdb_v1.tar.gz",
        "work/repo/data/prepared/train.parquet",
        "work/repo/data/prepared/test.parquet",
        "work/repo/reports/prepare.json",
    }
    warned = [record.getMessage() for record in caplog.records if "unsafe member" in record.getMessage()]
    assert len(warned) == 2 and "escape_7.txt" in warned[0] and "/aclImdb/train/pos/99_7.txt" in warned[1]


def test_missing_split_folder(tmp_path: Path) -> None:
    members = {k: v for k, v in tiny_reviews().items() if "/test/neg/" not in k}
    archive = write_archive(tmp_path / "a.tar.gz", members)
    with pytest.raises(PipelineError, match=r"no reviews in aclImdb/test/neg/"):
        prepare.prepare(archive, tmp_path / "prepared", 0)
    assert not (tmp_path / "prepared").exists()  # nothing written, not even the spilled runs


def test_unexpected_counts(tiny_archive: Path, tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="train has 24 reviews, expected 25000"):
        prepare.prepare(tiny_archive, tmp_path / "prepared", 25000)


def test_truncated_gzip(tiny_archive: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "t.tar.gz"
    truncated.write_bytes(tiny_archive.read_bytes()[:-300])
    with pytest.raises(PipelineError, match=f"{truncated}: not a readable .tar.gz archive"):
        prepare.prepare(truncated, tmp_path / "prepared", 0)


def test_not_a_tar(tmp_path: Path) -> None:
    fake = tmp_path / "f.tar.gz"
    fake.write_bytes(gzip.compress(b"just some text, not a tar archive" * 20))
    with pytest.raises(PipelineError, match=f"{fake}: not a readable .tar.gz archive"):
        prepare.prepare(fake, tmp_path / "prepared", 0)


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_long_member_names_in_every_tar_format(tmp_path: Path, fmt: int) -> None:
    """Long names use a ustar prefix, a GNU long-name record or a pax header; none may desync."""
    members = {f"aclImdb/train/unsup/{'deep/' * 25}{i}_0.txt": b"x" * 700 for i in range(3)}
    members.update(tiny_reviews())
    if fmt == tarfile.PAX_FORMAT:
        members["aclImdb/train/unsup/caf\u00e9_0.txt"] = b"a non-ASCII name needs a pax header"
    rows, counts = read_splits(write_archive(tmp_path / "a.tar.gz", members, fmt=fmt), tmp_path / "prepared")
    assert counts["train"]["pos"] == counts["test"]["neg"] == 12
    assert rows["train"][0]["text"].startswith("A café scene")


def test_streaming_in_tiny_batches_gives_the_bytes_of_one_batch(tmp_path: Path) -> None:
    """Runs of 1 to 7 reviews merged give the files of one in-memory sort, ties included: reviews
    with the same label and id (other stars) stay in archive order."""
    members = tiny_reviews()
    members["aclImdb/train/pos/3_9.txt"] = b"same label and id as 3_10"  # first in the reversed archive
    members["aclImdb/test/neg/0_4.txt"] = b"same label and id as 0_1"
    archive = write_archive(tmp_path / "a.tar.gz", dict(reversed(list(members.items()))))
    whole = tmp_path / "whole"
    prepare.prepare(archive, whole, 0, batch=10**6)
    for batch in (1, 2, 7):
        prepare.prepare(archive, tmp_path / f"b{batch}", 0, batch=batch)
        for split in paths.SPLITS:
            name = f"{split}.parquet"
            assert (tmp_path / f"b{batch}" / name).read_bytes() == (whole / name).read_bytes(), (batch, split)
    rows = pq.read_table(whole / "train.parquet").to_pylist()
    assert [row["stars"] for row in rows if (row["label"], row["id"]) == (1, 3)] == [9, 10]
    # Row groups of 5 rows: other bytes (a row group is part of the format), the same rows.
    prepare.prepare(archive, tmp_path / "groups", 0, batch=3, row_group=5)
    grouped = pq.ParquetFile(tmp_path / "groups" / "train.parquet")
    assert grouped.metadata.num_row_groups == 5
    assert grouped.read().to_pylist() == rows

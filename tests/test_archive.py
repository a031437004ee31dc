"""The minimal tar reader against the standard library's tarfile, field by field and format by format."""

import gzip
import io
import logging
import tarfile
from pathlib import Path

import pytest
from conftest import tiny_reviews, write_archive

from pipeline.lib.archive import NotATar, _number, _pax_path, iter_members, iter_reviews
from pipeline.lib.cli import PipelineError

LONG = "aclImdb/train/pos/" + "9" * 120 + "_7.txt"  # past the 100 bytes of a name field
PREFIXED = "aclImdb/train/" + "deep/" * 20 + "1_0.txt"  # ustar splits it into prefix + name


def tar_bytes(members: dict[str, bytes], fmt: int, **options: object) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt, **options) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("aclImdb/link")
        link.type, link.linkname = tarfile.SYMTYPE, "x" * 150 if fmt != tarfile.USTAR_FORMAT else "x"
        tar.addfile(link)
    return buffer.getvalue()


def listing(data: bytes) -> list[tuple[str, bool, int]]:
    """(name, regular, size) of every member, read by our reader, skipping the contents."""
    stream, found = io.BytesIO(data), []
    for name, regular, size in iter_members(stream):
        found.append((name, regular, size))
        stream.read(size)
    return found


@pytest.mark.parametrize(
    ("fmt", "names", "options"),
    [
        (tarfile.USTAR_FORMAT, ["a.txt", PREFIXED], {}),
        (tarfile.GNU_FORMAT, ["a.txt", LONG, PREFIXED], {}),
        (tarfile.PAX_FORMAT, ["a.txt", LONG, "caf\u00e9.txt"], {"pax_headers": {"comment": "a global header"}}),
    ],
    ids=["ustar", "gnu", "pax"],
)
def test_names_types_and_sizes_are_tarfiles(fmt: int, names: list[str], options: dict) -> None:
    members = {name: bytes(range(256)) * (i + 1) + b"!" for i, name in enumerate(names)}
    data = tar_bytes(members, fmt, **options)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        expected = [(m.name, m.isreg(), m.size) for m in tar.getmembers()]
    assert listing(data) == expected
    assert [name for name, regular, _ in listing(data) if regular] == names


def test_contents_follow_their_headers(tmp_path: Path) -> None:
    members = {LONG: b"first review", "aclImdb/test/neg/3_2.txt": b"second review" * 100}
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(gzip.compress(tar_bytes(members, tarfile.GNU_FORMAT)))
    reviews = list(iter_reviews(archive))
    assert [(r.name, r.split, r.label, r.stars, r.data) for r in reviews] == [
        (LONG, "train", 1, 7, b"first review"),
        ("aclImdb/test/neg/3_2.txt", "test", 0, 2, b"second review" * 100),
    ]
    assert reviews[1].id == 3 and reviews[0].id == int("9" * 120)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (b"0000644\x00", 0o644),
        (b"  644 \x00\x00", 0o644),
        (b"00000000017 ", 0o17),
        (b"\x00" * 8, 0),
        (b"        ", 0),
        (bytes([0x80]) + (5_000_000_000).to_bytes(11, "big"), 5_000_000_000),  # GNU base-256
        (bytes([0x80, 1]) + bytes(10), 1 << 80),
    ],
)
def test_numeric_fields(field: bytes, value: int) -> None:
    assert _number(field) == value


def test_a_bad_numeric_field_names_itself() -> None:
    with pytest.raises(NotATar, match=r"^bad numeric field b'12x4'$"):
        _number(b"12x4")


def pax(*records: tuple[str, str]) -> bytes:
    """pax records "<length> key=value\\n", the length counting itself."""
    out = b""
    for key, value in records:
        body = f" {key}={value}\n".encode()
        length = next(n for n in range(1, 10_000) if n == len(str(n)) + len(body))
        out += str(length).encode() + body
    return out


def test_pax_path_record() -> None:
    assert _pax_path(pax(("path", "a/b.txt"))) == "a/b.txt"
    assert _pax_path(pax(("comment", "x=y"), ("mtime", "1"), ("path", "dir/x=y.txt"))) == "dir/x=y.txt"
    assert _pax_path(pax(("comment", "path"), ("linkpath", "b"))) is None
    assert _pax_path(b"") is None


def test_broken_archives_say_how() -> None:
    data = tar_bytes({"aclImdb/test/pos/1_9.txt": b"x" * 600}, tarfile.USTAR_FORMAT)
    with pytest.raises(NotATar, match=r"^unexpected end of archive$"):
        listing(data[:300])
    corrupt = bytearray(data)
    corrupt[10] ^= 0xFF
    with pytest.raises(NotATar, match=r"^header checksum mismatch$"):
        listing(bytes(corrupt))
    assert listing(bytes(1024)) == []  # two zero blocks: an empty archive


def test_a_member_cut_short(tmp_path: Path) -> None:
    data = tar_bytes({"aclImdb/test/pos/1_9.txt": b"x" * 5000}, tarfile.USTAR_FORMAT)
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(gzip.compress(data[:2000]))
    with pytest.raises(PipelineError) as error:
        list(iter_reviews(cut))
    assert str(error.value) == f"{cut}: not a readable .tar.gz archive (aclImdb/test/pos/1_9.txt is cut short)"


def test_missing_archive_and_unsafe_names(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(PipelineError) as error:
        list(iter_reviews(tmp_path / "none.tar.gz"))
    assert str(error.value) == f"{tmp_path / 'none.tar.gz'}: not found; run `dvc repro download`"
    members = {"../aclImdb/train/pos/1_7.txt": b"evil", **tiny_reviews(2)}
    archive = write_archive(tmp_path / "a.tar.gz", members)
    with caplog.at_level(logging.WARNING):
        names = [review.name for review in iter_reviews(archive)]
    assert len(names) == 8 and "../aclImdb/train/pos/1_7.txt" not in names
    assert caplog.messages == [f"{archive}: ignoring unsafe member name '../aclImdb/train/pos/1_7.txt'"]

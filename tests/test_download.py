"""Stage `download`: a real HTTP server on 127.0.0.1, resume, digests, the offline route."""

import hashlib
import re
import socket
import sys
import tarfile
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, ArchiveServer, run_cmd, tiny_params, tiny_reviews, write_archive

from pipeline.download import download
from pipeline.lib.archive import reviews_digest
from pipeline.lib.cli import PipelineError


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def data_params(url: str, digest: str = "", reviews: str = "", timeout: float = 5, retries: int = 2) -> dict:
    return {"url": url, "sha256": digest, "reviews_sha256": reviews, "timeout": timeout, "retries": retries}


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pipeline.download.BACKOFF", 0.0)


def test_http_download_verified(archive_server: ArchiveServer, tiny_archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "raw" / "a.tar.gz"
    check = download(data_params(archive_server.url, sha256(tiny_archive)), out, None)
    assert out.read_bytes() == tiny_archive.read_bytes()
    assert check == "archive sha256 matches data.sha256"
    assert list(out.parent.iterdir()) == [out]


def test_resumes_a_partial_file_left_by_an_earlier_run(
    archive_server: ArchiveServer, tiny_archive: Path, tmp_path: Path
) -> None:
    out = tmp_path / "raw" / "a.tar.gz"
    out.parent.mkdir()
    payload = tiny_archive.read_bytes()
    (out.parent / "a.tar.gz.part").write_bytes(payload[:1000])
    download(data_params(archive_server.url, sha256(tiny_archive)), out, None)
    assert archive_server.behaviour.requests == ["bytes=1000-"]
    assert out.read_bytes() == payload


def test_connection_dropped_mid_file_is_resumed(
    archive_server: ArchiveServer, tiny_archive: Path, tmp_path: Path
) -> None:
    archive_server.behaviour.drop_after = 700
    out = tmp_path / "raw" / "a.tar.gz"
    download(data_params(archive_server.url, sha256(tiny_archive)), out, None)
    assert archive_server.behaviour.requests == [None, "bytes=700-"]
    assert out.read_bytes() == tiny_archive.read_bytes()


def test_server_ignoring_range_restarts_cleanly(
    archive_server: ArchiveServer, tiny_archive: Path, tmp_path: Path
) -> None:
    archive_server.behaviour.honour_range = False
    out = tmp_path / "raw" / "a.tar.gz"
    out.parent.mkdir()
    (out.parent / "a.tar.gz.part").write_bytes(b"stale bytes")
    download(data_params(archive_server.url, sha256(tiny_archive)), out, None)
    assert out.read_bytes() == tiny_archive.read_bytes()


def test_digest_mismatch_names_both_digests_and_leaves_nothing(
    archive_server: ArchiveServer, tiny_archive: Path, tmp_path: Path
) -> None:
    out = tmp_path / "raw" / "a.tar.gz"
    with pytest.raises(PipelineError, match=f"expected {'0' * 64}, got {sha256(tiny_archive)}"):
        download(data_params(archive_server.url, "0" * 64), out, None)
    assert list(out.parent.iterdir()) == []


@pytest.mark.parametrize("status", [404, 500])
def test_http_errors(archive_server: ArchiveServer, tmp_path: Path, status: int) -> None:
    archive_server.behaviour.status = status
    expected = "HTTP 404 Not Found" if status == 404 else "HTTP Error 500: Internal Server Error; offline"
    with pytest.raises(PipelineError, match=f"^cannot download {archive_server.url}: {expected}"):
        download(data_params(archive_server.url, retries=1), tmp_path / "a.tar.gz", None)
    # 4xx is final; 5xx is retried
    assert len(archive_server.behaviour.requests) == (1 if status == 404 else 2)


def test_stalled_server_times_out(archive_server: ArchiveServer, tmp_path: Path) -> None:
    archive_server.behaviour.stall = 2
    with pytest.raises(PipelineError, match="timed out"):
        download(data_params(archive_server.url, timeout=0.5, retries=0), tmp_path / "a.tar.gz", None)


def test_unreachable_server_points_to_the_offline_route(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/aclImdb_v1.tar.gz"
    with pytest.raises(PipelineError, match=f"cannot download {url}.*IMDB_ARCHIVE="):
        download(data_params(url, retries=1), tmp_path / "a.tar.gz", None)


def test_offline_route_accepts_a_repacked_mirror_by_reviews_digest(
    tiny_archive: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    members = tiny_reviews()
    reordered = dict(reversed(list(members.items())))
    del reordered["aclImdb/imdb.vocab"]
    mirror = write_archive(tmp_path / "mirror.tar.gz", reordered, compresslevel=9)
    assert sha256(mirror) != sha256(tiny_archive)
    assert reviews_digest(mirror) == reviews_digest(tiny_archive)
    out = tmp_path / "raw" / "a.tar.gz"
    data = data_params("http://unused.invalid/x", sha256(tiny_archive), reviews_digest(tiny_archive))
    check = download(data, out, str(mirror))
    assert "repacked mirror" in check
    assert out.read_bytes() == mirror.read_bytes()


def test_mirror_with_other_reviews_is_refused(tiny_archive: Path, tmp_path: Path) -> None:
    members = tiny_reviews()
    members["aclImdb/test/pos/0_7.txt"] = b"an edited review"
    mirror = write_archive(tmp_path / "mirror.tar.gz", members)
    data = data_params("unused", sha256(tiny_archive), reviews_digest(tiny_archive))
    with pytest.raises(PipelineError, match=r"reviews digest .* does not match data.reviews_sha256"):
        download(data, tmp_path / "raw" / "a.tar.gz", f"file://{mirror}")
    assert list((tmp_path / "raw").iterdir()) == []


def independent_reviews_digest(archive: Path) -> str:
    """docs/pipeline.md's formula (Offline), computed with the standard library's tarfile: sha256 over the sorted
    lines `name<TAB>sha256(content)` of the labelled train/test reviews."""
    labelled = re.compile(r"aclImdb/(train|test)/(pos|neg)/\d+_\d+\.txt")
    with tarfile.open(archive) as tar:
        lines = sorted(
            f"{m.name}\t{hashlib.sha256(tar.extractfile(m).read()).hexdigest()}\n"
            for m in tar.getmembers()
            if m.isfile() and labelled.fullmatch(m.name)
        )
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def test_reviews_digest_is_the_documented_formula(tiny_archive: Path) -> None:
    assert reviews_digest(tiny_archive) == independent_reviews_digest(tiny_archive)


def test_the_offline_route_through_the_stage(tiny_archive: Path, tmp_path: Path) -> None:
    """IMDB_ARCHIVE wins over data.url (here unreachable), and the log says which check passed."""
    params = tiny_params(tiny_archive)
    params["data"].update(url="http://127.0.0.1:9/aclImdb_v1.tar.gz", sha256=sha256(tiny_archive), retries=0)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    command = [sys.executable, "-m", "pipeline.download"]
    result = run_cmd(command, tmp_path, PYTHONPATH=str(ROOT), IMDB_ARCHIVE=str(tiny_archive))
    assert f"IMDB_ARCHIVE is set: taking the archive from {tiny_archive}" in result.stderr
    assert "data/raw/aclImdb_v1.tar.gz ready: archive sha256 matches data.sha256" in result.stderr
    assert (tmp_path / "data/raw/aclImdb_v1.tar.gz").read_bytes() == tiny_archive.read_bytes()

    params["data"].update(url=tiny_archive.as_uri(), sha256="0" * 64, reviews_sha256=reviews_digest(tiny_archive))
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    result = run_cmd(command, tmp_path, PYTHONPATH=str(ROOT))  # a file:// URL, a repacked mirror's check
    assert "ready: archive bytes differ from data.sha256 (a repacked mirror), but its labelled reviews match" in (
        result.stderr
    )


def test_a_name_that_does_not_resolve_fails_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No DNS means no network: one attempt, then the offline hint, not five retries with back-off."""
    calls = []

    def no_dns(host: object, *args: object, **kwargs: object) -> list:
        calls.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)  # what the resolver says offline
    monkeypatch.setattr("pipeline.download.BACKOFF", 30.0)  # a retry would show as a 30 s wait
    with pytest.raises(PipelineError) as error:
        download(data_params("http://mirror.example/aclImdb_v1.tar.gz", retries=5), tmp_path / "a.tar.gz", None)
    assert str(error.value) == (
        "cannot download http://mirror.example/aclImdb_v1.tar.gz: [Errno -2] Name or service not known; "
        "offline? set IMDB_ARCHIVE=/path/to/aclImdb_v1.tar.gz, or data.url to a local path"
    )
    assert calls == ["mirror.example"]

"""download over HTTP from a repacked mirror: data.reviews_sha256 decides on that path too, not
only on the offline route (a check on one branch alone once passed every test)."""

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ArchiveServer, tiny_reviews, write_archive

from pipeline.download import download
from pipeline.lib.archive import reviews_digest
from pipeline.lib.cli import PipelineError


@pytest.fixture
def mirror_server(tmp_path: Path) -> Iterator[ArchiveServer]:
    """The tiny reviews repacked (reversed, other compression), served over HTTP."""
    mirror = write_archive(tmp_path / "mirror.tar.gz", dict(reversed(tiny_reviews().items())), compresslevel=1)
    server = ArchiveServer(mirror.read_bytes())
    yield server
    server.close()


def test_an_http_mirror_is_accepted_by_the_reviews_digest_alone(
    mirror_server: ArchiveServer, tiny_archive: Path, tmp_path: Path
) -> None:
    official = hashlib.sha256(tiny_archive.read_bytes()).hexdigest()
    data = {"url": mirror_server.url, "sha256": official, "timeout": 5, "retries": 0}
    out = tmp_path / "raw" / "a.tar.gz"
    check = download({**data, "reviews_sha256": reviews_digest(tiny_archive)}, out, None)
    assert "repacked mirror" in check and out.read_bytes() == mirror_server.payload
    out.unlink()
    with pytest.raises(PipelineError, match=r"does not match data.reviews_sha256 0{64}"):
        download({**data, "reviews_sha256": "0" * 64}, out, None)
    assert list(out.parent.iterdir()) == []

"""Stage `download`: fetch aclImdb_v1.tar.gz into data/raw/, verified before it is renamed into place.

Offline route: IMDB_ARCHIVE=/path/to/archive (or a local path or file:// URL in data.url)
takes the archive from disk. A repacked mirror is accepted when its labelled reviews match
data.reviews_sha256, although its bytes differ from data.sha256.
"""

import contextlib
import hashlib
import http.client
import logging
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tqdm import tqdm

from pipeline.lib import params, paths
from pipeline.lib.archive import reviews_digest
from pipeline.lib.cli import PipelineError, run
from pipeline.lib.files import atomic_path

log = logging.getLogger("download")

# What this stage reads of params.yaml; dvc.yaml's `params:` lists the same (tests/test_params.py).
PARAMS = ("data",)

ENV_ARCHIVE = "IMDB_ARCHIVE"
CHUNK = 1 << 20
BACKOFF = 1.0  # seconds before the first retry, doubling up to 30
OFFLINE_HINT = f"offline? set {ENV_ARCHIVE}=/path/to/aclImdb_v1.tar.gz, or data.url to a local path"


def file_sha256(path: Path, copy_to: Path | None = None) -> str:
    """The file's sha256; with `copy_to`, the file is copied there in the same read."""
    digest = hashlib.sha256()
    with path.open("rb") as f, copy_to.open("wb") if copy_to else contextlib.nullcontext() as out:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            if out:
                out.write(chunk)
    return digest.hexdigest()


def local_source(url: str) -> Path | None:
    """The file a file:// URL or plain path names; None for a remote URL."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        return Path(urllib.request.url2pathname(parsed.path))
    if parsed.scheme in ("http", "https", "ftp"):
        return None
    return Path(url)


def fetch_http(url: str, part: Path, timeout: float, retries: int) -> None:
    """Download `url` into `part`, resuming what an earlier attempt or run left there."""
    error: Exception | None = None
    for attempt in range(retries + 1):
        if attempt:
            delay = min(BACKOFF * 2 ** (attempt - 1), 30.0)
            log.warning("attempt %d failed (%s); retrying in %.1f s", attempt, error, delay)
            time.sleep(delay)
        offset = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as response:
                if offset and response.status != 206:
                    offset = 0  # the server ignored the range: start again
                elif offset:
                    log.info("resuming %s at byte %d", url, offset)
                length = response.headers.get("Content-Length")
                total = offset + int(length) if length else None
                with (
                    part.open("ab" if offset else "wb") as out,
                    tqdm(
                        total=total,
                        initial=offset,
                        unit="B",
                        unit_scale=True,
                        desc=part.name,
                        disable=None,
                    ) as bar,
                ):
                    while chunk := response.read(CHUNK):
                        out.write(chunk)
                        bar.update(len(chunk))
            if total is not None and part.stat().st_size != total:
                raise http.client.IncompleteRead(b"", total - part.stat().st_size)
            return
        except urllib.error.HTTPError as http_error:
            if http_error.code == 416 and offset:
                return  # nothing left to fetch: the digest check decides
            if http_error.code < 500:
                raise PipelineError(f"cannot download {url}: HTTP {http_error.code} {http_error.reason}") from None
            error = http_error
        except urllib.error.URLError as url_error:
            if isinstance(url_error.reason, socket.gaierror):  # no DNS: no network, so retrying cannot help
                error = url_error.reason
                break
            error = url_error
        except (http.client.HTTPException, OSError) as net_error:
            error = net_error
    raise PipelineError(f"cannot download {url}: {error}; {OFFLINE_HINT}")


def verify(path: Path, actual: str, sha256: str, reviews_sha256: str, source: str) -> str:
    """Accept the archive whose sha256 is `actual`, or raise; return which check passed, for the log.

    data.sha256 is required: it is what makes the source part of the record. IMDB_ARCHIVE only says
    where to find the bytes, and DVC cannot see it; another corpus is another data.sha256, which
    DVC sees, so download and everything after it run again.
    """
    if actual == sha256:
        return "archive sha256 matches data.sha256"
    if not reviews_sha256:
        raise PipelineError(f"{source}: sha256 mismatch: expected {sha256}, got {actual}")
    reviews = reviews_digest(path)
    if reviews == reviews_sha256:
        return (
            "archive bytes differ from data.sha256 (a repacked mirror), "
            "but its labelled reviews match data.reviews_sha256"
        )
    raise PipelineError(
        f"{source}: sha256 mismatch: expected {sha256}, got {actual}; "
        f"reviews digest {reviews} does not match data.reviews_sha256 {reviews_sha256} either"
    )


def download(data: dict, output: Path, archive_override: str | None) -> str:
    """Place the verified archive at `output`; return the check that passed."""
    source = archive_override or data["url"]
    local = local_source(source)
    output.parent.mkdir(parents=True, exist_ok=True)
    if local is not None:
        if not local.is_file():
            raise PipelineError(f"{local}: archive not found")
        with atomic_path(output) as tmp:
            actual = file_sha256(local, copy_to=tmp)
            check = verify(tmp, actual, data["sha256"], data["reviews_sha256"], str(local))
        return check
    part = output.with_name(output.name + ".part")
    fetch_http(source, part, data["timeout"], data["retries"])
    try:
        check = verify(part, file_sha256(part), data["sha256"], data["reviews_sha256"], source)
    except PipelineError:
        part.unlink(missing_ok=True)  # a wrong file must not be resumed
        raise
    os.replace(part, output)
    return check


def main() -> None:
    data = params.load(PARAMS)["data"]
    override = os.environ.get(ENV_ARCHIVE) or None
    if override:
        log.info("%s is set: taking the archive from %s", ENV_ARCHIVE, override)
    check = download(data, paths.ARCHIVE, override)
    log.info("%s ready: %s", paths.ARCHIVE, check)


if __name__ == "__main__":
    run(main)

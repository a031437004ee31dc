"""Tiny aclImdb archives of the real layout and quirks, a local HTTP server, a scratch DVC repo,
and a guard that keeps every test on this machine."""

import hashlib
import io
import ipaddress
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# Subprocesses (dvc, the stages) send any HTTP that is not for this machine to a closed port.
OFFLINE = {
    **{name: "http://127.0.0.1:9" for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")},
    **{name: "127.0.0.1,localhost,::1" for name in ("no_proxy", "NO_PROXY")},
}


def is_loopback(host: object) -> bool:
    if host in ("localhost", None):
        return True
    try:
        return ipaddress.ip_address(str(host).strip("[]")).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests reach only this machine: a look-up or connection elsewhere fails before a packet leaves."""
    getaddrinfo, connect, connect_ex = socket.getaddrinfo, socket.socket.connect, socket.socket.connect_ex

    def refuse(address: object) -> None:
        raise AssertionError(f"a test tried to reach {address!r}: tests stay on 127.0.0.1")

    def guarded_getaddrinfo(host: object, *args: object, **kwargs: object) -> list:
        if not is_loopback(host):
            refuse(host)
        return getaddrinfo(host, *args, **kwargs)

    def guarded(method):  # connect and connect_ex
        def check(sock: socket.socket, address: object) -> object:
            if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address[0]):
                refuse(address)
            return method(sock, address)

        return check

    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", guarded(connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guarded(connect_ex))


GOOD = ["wonderful", "superb", "brilliant", "moving", "delightful", "masterpiece", "great", "loved"]
BAD = ["awful", "boring", "dreadful", "waste", "terrible", "dull", "worst", "hated"]
QUIRKS = [
    "A café scene in Zürich &amp; a naïve hero.<br /><br />Then Tōkyō 東京 — wow 🎬",
    "It said &quot;end&quot;.<br /><br />The <i>credits</i> rolled &lt;3",
    "UPPER case, punctuation!!! tabs\tand\nnewlines; (brackets) [and] {braces}",
]


def review_text(label: int, i: int) -> str:
    words = GOOD if label else BAD
    body = " ".join(words[(i + k) % len(words)] for k in range(12))
    return f"{QUIRKS[i % len(QUIRKS)]} {body} film movie plot.<br />Review {i}."


def tiny_reviews(per_folder: int = 12) -> dict[str, bytes]:
    """Archive members -> contents: train/test x pos/neg, a few unsup, and the side files."""
    members: dict[str, bytes] = {"aclImdb/README": b"tiny test archive\n", "aclImdb/imdb.vocab": b"the\n"}
    for split in ("train", "test"):
        for folder, label, stars in (("pos", 1, (7, 8, 9, 10)), ("neg", 0, (1, 2, 3, 4))):
            for i in range(per_folder):
                name = f"aclImdb/{split}/{folder}/{i}_{stars[i % 4]}.txt"
                members[name] = review_text(label, i + (100 if split == "test" else 0)).encode()
    for i in range(3):
        members[f"aclImdb/train/unsup/{i}_0.txt"] = b"unlabelled review"
    return members


def write_archive(path: Path, members: dict[str, bytes], compresslevel: int = 6, fmt: int = tarfile.PAX_FORMAT) -> Path:
    """A .tar.gz with the members in the given order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz", compresslevel=compresslevel, format=fmt) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_300_000_000
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def tiny_archive(tmp_path: Path) -> Path:
    return write_archive(tmp_path / "src" / "aclImdb_v1.tar.gz", tiny_reviews())


@dataclass
class Behaviour:
    """What the test server does with the next requests."""

    status: int = 200
    drop_after: int | None = None  # first response: send this many bytes, then hang up
    stall: float = 0.0  # seconds to wait before the body
    honour_range: bool = True
    requests: list[str | None] = field(default_factory=list)  # Range headers seen


class ArchiveServer:
    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.behaviour = Behaviour()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                b = server.behaviour
                header = self.headers.get("Range")
                b.requests.append(header)
                if b.status != 200:
                    self.send_error(b.status)
                    return
                start = int(header.split("=")[1].rstrip("-")) if header and b.honour_range else 0
                body = server.payload[start:]
                self.send_response(206 if start else 200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if b.stall:
                    time.sleep(b.stall)
                if b.drop_after is not None:
                    self.wfile.write(body[: b.drop_after])
                    b.drop_after = None
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/aclImdb_v1.tar.gz"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def archive_server(tiny_archive: Path) -> Iterator[ArchiveServer]:
    server = ArchiveServer(tiny_archive.read_bytes())
    yield server
    server.close()


def tiny_params(archive: Path) -> dict:
    """The tutorial's setup (not the user's params.yaml), shrunk so the whole pipeline runs in seconds."""
    from tutorial_params import tutorial

    params = tutorial()
    digest = hashlib.sha256(archive.read_bytes()).hexdigest() if archive.exists() else "0" * 64  # no download
    params["data"].update(url=str(archive), sha256=digest, reviews_sha256="")
    params["prepare"]["reviews_per_split"] = 0
    params["encode"]["num_words"] = 50
    params["pad"]["maxlen"] = 20
    params["model"].update(embedding_dim=8, units=4, dense_units=8)
    params["train"].update(epochs=2, batch_size=8)
    params["evaluate"].update(samples=3, misclassified=2)
    return params


def environment(**env: str) -> dict[str, str]:
    """The subprocesses' environment: this venv first, offline, no IMDB_ARCHIVE unless given."""
    variables = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1", **OFFLINE}
    variables.pop("IMDB_ARCHIVE", None)
    return {**variables, **env}


def run_cmd(
    args: list[str], cwd: Path, check: bool = True, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess:
    result = subprocess.run(
        args, cwd=cwd, env=environment(**env), input=stdin, capture_output=True, text=True, timeout=600
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def dvc(repo: Path, *args: str, **env: str) -> str:
    """Run a dvc command in `repo`; its stdout."""
    return run_cmd([sys.executable, "-m", "dvc", *args], repo, **env).stdout


def ran(output: str) -> list[str]:
    """The stages that a `dvc repro` or `dvc exp run` output says it ran."""
    return re.findall(r"Running stage '(\w+)'", output)


@pytest.fixture
def dvc_repo(tmp_path: Path, tiny_archive: Path) -> Path:
    return make_dvc_repo(tmp_path / "repo", tiny_archive)


def make_dvc_repo(repo: Path, tiny_archive: Path) -> Path:
    """A fresh git + DVC repository holding this project's pipeline, params set for the tiny archive."""
    repo.mkdir()
    shutil.copytree(ROOT / "pipeline", repo / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "dvc.yaml", repo)
    (repo / "params.yaml").write_text(yaml.safe_dump(tiny_params(tiny_archive), sort_keys=False))
    for args in (
        ["git", "init", "-q"],
        ["git", "config", "user.email", "test@example.com"],
        ["git", "config", "user.name", "test"],
        [sys.executable, "-m", "dvc", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "commit", "-qm", "pipeline"],
    ):
        run_cmd(args, repo)
    return repo


def commit(repo: Path, message: str) -> None:
    run_cmd(["git", "add", "-A"], repo)
    run_cmd(["git", "commit", "-qm", message], repo)


def committed_reports(repo: Path) -> Path:
    """A git + DVC repository holding this project's dvc.yaml, dvc.lock, settings, plot templates
    and reports/ as committed (the cached outputs present in the workspace): the full run's files."""
    (repo / ".dvc").mkdir(parents=True)
    for name in ("dvc.yaml", "dvc.lock", "params.yaml", ".gitignore", ".dvc/config"):
        shutil.copy(ROOT / name, repo / name)
    for folder in (".dvc/plots", "reports"):
        shutil.copytree(ROOT / folder, repo / folder)
    for args in (
        ["git", "init", "-q"],
        ["git", "config", "user.email", "t@example.com"],
        ["git", "config", "user.name", "t"],
    ):
        run_cmd(args, repo)
    commit(repo, "reports of the full run")
    return repo


def set_params(repo: Path, **changes: object) -> None:
    """Edit `repo`'s params.yaml: set_params(repo, train__epochs=1) sets train.epochs."""
    params = yaml.safe_load((repo / "params.yaml").read_text())
    for key, value in changes.items():
        section, name = key.split("__")
        params[section][name] = value
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def in_repo(monkeypatch: pytest.MonkeyPatch, repo: Path, params: dict) -> None:
    """Make `repo` the working directory with the given params.yaml, as DVC does for a stage."""
    repo.mkdir(parents=True, exist_ok=True)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    monkeypatch.chdir(repo)


def pushed_pipeline(root: Path) -> Path:
    """The tiny pipeline in `root`/origin: run, committed, and pushed with its run-cache to a local remote."""
    repo = make_dvc_repo(root / "origin", write_archive(root / "aclImdb_v1.tar.gz", tiny_reviews()))
    dvc(repo, "remote", "add", "-d", "local", str(root / "remote"))
    dvc(repo, "repro")
    run_cmd(["git", "add", "-A"], repo)
    run_cmd(["git", "commit", "-qm", "first run"], repo)
    dvc(repo, "push", "--run-cache")
    return repo

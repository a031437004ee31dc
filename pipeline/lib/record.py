"""What DVC has recorded, read without importing DVC (stages and predict must start fast):
each output's stage and md5 in dvc.lock, the objects in its cache and in local remotes."""

import configparser
import contextlib
import json
import os
from pathlib import Path
from typing import Any

import yaml

from pipeline.lib import paths
from pipeline.lib.cli import PipelineError


def _unreadable(dvc_lock: Path) -> PipelineError:
    return PipelineError(
        f"{dvc_lock}: unreadable (cut by a killed `dvc`?); restore it with `git checkout {dvc_lock}`"
        " or delete it, then `dvc repro` (the run-cache restores what already ran)"
    )


def _stages(dvc_lock: Path) -> dict[str, Any]:
    """dvc.lock's stages by name; empty where there is no lock yet."""
    if not dvc_lock.exists():
        return {}
    try:
        stages = yaml.load(dvc_lock.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        return dict(stages["stages"])
    except (yaml.YAMLError, KeyError, TypeError, ValueError):
        raise _unreadable(dvc_lock) from None


def outputs(dvc_lock: Path = paths.DVC_LOCK) -> dict[str, tuple[str, str]]:
    """Every output's stage and md5 as dvc.lock records them, by path; empty where there is no lock yet."""
    try:
        return {
            out["path"]: (name, out["md5"])
            for name, stage in _stages(dvc_lock).items()
            for out in stage.get("outs", [])
            if "md5" in out
        }
    except (KeyError, TypeError, AttributeError):
        raise _unreadable(dvc_lock) from None


def recorded_params(stage: str, dvc_lock: Path = paths.DVC_LOCK) -> dict[str, Any]:
    """The params.yaml values dvc.lock records for `stage`'s last run, as DVC writes them (a listed
    section as a mapping, a listed `section.key` under that dotted name); empty where none are."""
    try:
        return dict(_stages(dvc_lock).get(stage, {}).get("params", {}).get(paths.PARAMS.name, {}))
    except (AttributeError, TypeError, ValueError):
        raise _unreadable(dvc_lock) from None


def _config() -> configparser.ConfigParser:
    """.dvc/config with .dvc/config.local over it."""
    parser = configparser.ConfigParser(interpolation=None)
    with contextlib.suppress(OSError, configparser.Error):
        parser.read([paths.DVC_DIR / "config", paths.DVC_DIR / "config.local"])
    return parser


def cache_dir() -> Path:
    """DVC's cache folder: `cache.dir` of the repository's config (relative to .dvc/), or the default."""
    return paths.DVC_DIR / _config().get("cache", "dir", fallback="cache")


def remote_urls() -> list[str]:
    """The url of every remote (sections `'remote "name"'`)."""
    config = _config()
    return [config.get(name, "url", fallback="") for name in config.sections() if name.strip("'").startswith("remote ")]


def _object(store: Path, md5: str) -> Path:
    return store / "files" / "md5" / md5[:2] / md5[2:]


def _listing(store: Path, md5: str) -> dict[str, str] | None:
    """A folder output's `.dir` object: relative path -> md5; None where the store lacks it."""
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
        return {entry["relpath"]: entry["md5"] for entry in json.loads(_object(store, md5).read_text())}
    return None


def _locate(path: str | Path, recorded: dict[str, tuple[str, str]]) -> tuple[str, str, str, str] | None:
    """The output holding `path`: its path, stage and md5, and `path` inside it ("." for itself)."""
    wanted = Path(os.path.relpath(path))
    for out, (stage, md5) in recorded.items():
        if wanted == Path(out) or Path(out) in wanted.parents:
            return out, stage, md5, wanted.relative_to(out).as_posix()
    return None


def expected_md5(path: str, recorded: dict[str, tuple[str, str]]) -> tuple[str, str] | None:
    """The stage that wrote `path` and the md5 dvc.lock gives it: its own entry, or its line in the
    cached listing of a folder output."""
    found = _locate(path, recorded)
    if found is None:
        return None
    _, stage, md5, inside = found
    if inside == ".":
        return stage, md5
    entry = (_listing(cache_dir(), md5) or {}).get(inside) if md5.endswith(".dir") else None
    return (stage, entry) if entry else None


def _holds(store: Path, md5: str, inside: str) -> bool:
    """Whether a DVC cache or local remote holds the output of this md5, or its file `inside`."""
    if not md5.endswith(".dir"):
        return inside == "." and _object(store, md5).is_file()
    entries = _listing(store, md5)
    if entries is None or (inside != "." and inside not in entries):
        return False
    return all(_object(store, md5).is_file() for md5 in ([entries[inside]] if inside != "." else entries.values()))


def how_to_restore(path: Path) -> str:
    """`dvc checkout` when the DVC cache holds `path`, `dvc pull` when a configured remote may,
    else `dvc repro`."""
    try:
        found = _locate(path, outputs())
    except PipelineError:  # a cut dvc.lock: nothing to restore from
        found = None
    if found:
        _, _, md5, inside = found
        if _holds(cache_dir(), md5, inside):
            return "run `dvc checkout` to restore it from the DVC cache"
        # A local remote is looked into; another (s3://, ssh://...) is taken to hold what was pushed.
        if any("://" in url or _holds(paths.DVC_DIR / url, md5, inside) for url in remote_urls()):
            return "run `dvc pull` to fetch it from the DVC remote"
    return "run `dvc repro` to build it"

"""How the data stages, evaluate and baseline scale: 1x, 4x and 16x archives made from the real one.

A k-times archive holds every labelled review k times in the aclImdb layout: copy c has its id
shifted by c * ID_SHIFT and, for c >= 1, one word replaced by `copy<c>`, so no two reviews are
equal. The unlabelled reviews and side files are left out (prepare skips them). The archives are
deterministic (fixed member order, times and owners) and cached under benchmarks/work/scaling/.

Each stage runs as its own process on each size (wall time and peak RSS from os.wait4); with
--before REV, the stages of that revision run at 1x in the same rounds, for the "not slower" check.
"""

import gzip
import io
import shutil
import statistics
import subprocess
import sys
import tarfile
from pathlib import Path

import yaml

from benchmarks.common import ROOT, WORK, Run, timed
from pipeline.lib.archive import iter_reviews

SIZES = (1, 4, 16)
ID_SHIFT = 1_000_000  # above every aclImdb id (< 12,500)
DATA_STAGES = ("prepare", "encode", "pad")
MODEL_STAGES = ("evaluate", "baseline")
REVIEWS = 50_000  # labelled reviews at 1x
SCRATCH = WORK / "scaling"
FIGURE = ROOT / "reports" / "figures" / "scaling.png"


def variant(data: bytes, copy: int) -> bytes:
    """Copy 0 is the review itself; copy c >= 1 has one word, chosen by c, replaced."""
    if copy == 0:
        return data
    words = data.split(b" ")
    words[(copy * 7919) % len(words)] = b"copy%d" % copy
    return b" ".join(words)


def make_archive(source: Path, copies: int, target: Path) -> Path:
    """The k-times archive of `source`, copy after copy: a copy lies further back than gzip's 32 KB
    window, so it compresses like new text (level 1, to make it quickly)."""
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    with gzip.GzipFile(partial, "wb", compresslevel=1, mtime=0) as raw, tarfile.open(fileobj=raw, mode="w|") as tar:
        for copy in range(copies):
            for review in iter_reviews(source):
                folder = review.name.rsplit("/", 1)[0]
                data = variant(review.data, copy)
                info = tarfile.TarInfo(f"{folder}/{review.id + copy * ID_SHIFT}_{review.stars}.txt")
                info.size, info.mtime, info.mode = len(data), 1_300_000_000, 0o644
                tar.addfile(info, io.BytesIO(data))
    partial.rename(target)
    return target


def scratch(name: str, code: Path, archive: Path, settings: dict) -> Path:
    """A folder with `code`'s pipeline package, params.yaml edited by `settings`, and the archive."""
    repo = SCRATCH / name
    shutil.rmtree(repo, ignore_errors=True)
    (repo / "data" / "raw").mkdir(parents=True)
    shutil.copytree(code / "pipeline", repo / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    params = yaml.safe_load((code / "params.yaml").read_text())
    for key, value in settings.items():
        section, field = key.split(".")
        params[section][field] = value
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (repo / "data" / "raw" / "aclImdb_v1.tar.gz").symlink_to(archive)
    return repo


def stage(name: str, repo: Path) -> Run:
    # PYTHONPATH: the copy's own pipeline package, not the editable install of this clone.
    return timed([sys.executable, "-m", f"pipeline.{name}"], repo, {"PYTHONPATH": str(repo)})


def checkout(revision: str) -> Path:
    """The pipeline package and params.yaml of a git revision, for the before/after comparison."""
    folder = SCRATCH / f"code-{revision}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", revision, "pipeline", "params.yaml"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def entry(runs: list[Run], reviews: int) -> dict:
    seconds = statistics.median(r.seconds for r in runs)
    return {
        "seconds": round(seconds, 3),
        "peak_rss_mb": round(max(r.peak_rss_mb for r in runs)),
        "reviews_per_second": round(reviews / seconds),
    }


def measure(source: Path, rounds: int, before: str | None) -> dict:
    """Every size's figures; rounds >= 2 interleave 1x with the 4x and 16x runs."""
    archives = {k: make_archive(source, k, SCRATCH / f"aclImdb_{k}x.tar.gz") for k in SIZES}
    settings = {"prepare.reviews_per_split": 0}
    repos = {k: scratch(f"{k}x", ROOT, archives[k], settings) for k in SIZES}
    old = scratch("1x-before", checkout(before), archives[1], settings) if before else None
    result: dict = {"sizes": {}, "rounds": rounds, "before": before}

    # 1x rounds (this code, then the old one) go between the larger sizes, so the machine's load
    # over the run hits the 1x figures as it hits the 4x and 16x ones.
    runs: dict[str, dict[str, list[Run]]] = {size: {name: [] for name in DATA_STAGES} for size in ("1x", "before")}
    larger = [f"{k}x" for k in SIZES[1:]]
    for round_ in range(max(rounds, len(larger))):
        for name in DATA_STAGES:
            runs["1x"][name].append(stage(name, repos[1]))
            if old:
                runs["before"][name].append(stage(name, old))
        if round_ < len(larger):
            size = larger[round_]
            runs[size] = {name: [stage(name, repos[int(size[:-1])])] for name in DATA_STAGES}
    for size in ("1x", *larger):
        reviews = int(size[:-1]) * REVIEWS
        result["sizes"][size] = {name: entry(r, reviews) for name, r in runs[size].items()}
    if old:
        result["before_1x"] = {name: entry(r, REVIEWS) for name, r in runs["before"].items()}

    # One epoch of training at 1x and at the largest size (time per epoch, and the memory of an
    # arrays file read memory-mapped); evaluate scores the 1x model at every size.
    trained = {}
    for k in (SIZES[0], SIZES[-1]):
        trained[k] = scratch(f"train-{k}x", ROOT, archives[k], {**settings, "train.epochs": 1})
        shutil.copytree(repos[k] / "data" / "padded", trained[k] / "data" / "padded")
        result["sizes"][f"{k}x"]["train_one_epoch"] = entry([stage("train", trained[k])], k * REVIEWS // 2)
    for k in SIZES:
        (repos[k] / "models").mkdir(exist_ok=True)
        for model in ("model.keras", "model.npz"):  # evaluate reads the exported weights
            shutil.copy(trained[SIZES[0]] / "models" / model, repos[k] / "models" / model)
        for name in MODEL_STAGES:
            result["sizes"][f"{k}x"][name] = entry([stage(name, repos[k])], k * REVIEWS // 2)
    result["ratios_16x_over_1x"] = {
        name: round(result["sizes"]["16x"][name]["seconds"] / result["sizes"]["1x"][name]["seconds"], 2)
        for name in (*DATA_STAGES, "train_one_epoch", *MODEL_STAGES)
    }
    if old:
        result["ratios_1x_after_over_before"] = {
            name: round(result["sizes"]["1x"][name]["seconds"] / result["before_1x"][name]["seconds"], 3)
            for name in DATA_STAGES
        }
    result["disk_mb"] = {f"{k}x": disk_usage(repos[k], archives[k]) for k in SIZES}
    biggest = result["sizes"][f"{SIZES[-1]}x"]
    result["checks"] = {
        "data_stages_under_1gb": all(biggest[name]["peak_rss_mb"] < 1000 for name in DATA_STAGES),
        "data_stages_at_most_18x": all(result["ratios_16x_over_1x"][name] <= 18 for name in DATA_STAGES),
        "evaluate_baseline_under_2gb": all(biggest[name]["peak_rss_mb"] < 2000 for name in MODEL_STAGES),
    }
    if old:
        result["checks"]["1x_not_slower"] = all(r <= 1 for r in result["ratios_1x_after_over_before"].values())
    plot(result)
    return result


def disk_usage(repo: Path, archive: Path) -> dict:
    def size(path: Path) -> int:
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())

    return {
        "archive": round(archive.stat().st_size / 1e6),
        **{name: round(size(repo / "data" / name) / 1e6) for name in ("prepared", "encoded", "padded")},
    }


def plot(result: dict) -> None:
    """Wall time and peak RSS against corpus size, log-log, with the linear slope for reference."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [int(k.removesuffix("x")) for k in result["sizes"]]
    figure, (time_axis, memory_axis) = plt.subplots(1, 2, figsize=(11, 4.5))
    for name in (*DATA_STAGES, *MODEL_STAGES):
        rows = [result["sizes"][f"{k}x"][name] for k in sizes]
        time_axis.plot(sizes, [r["seconds"] for r in rows], marker="o", label=name)
        memory_axis.plot(sizes, [r["peak_rss_mb"] for r in rows], marker="o", label=name)
    first = min(result["sizes"]["1x"][name]["seconds"] for name in DATA_STAGES)
    time_axis.plot(sizes, [first * k for k in sizes], "k:", label="linear")
    memory_axis.axhline(1000, color="grey", linestyle="--", label="1 GB (data stages' bound)")
    for axis, label in ((time_axis, "wall time, s"), (memory_axis, "peak RSS, MB")):
        axis.set(xscale="log", yscale="log", xlabel="corpus size (x IMDb's 50,000 reviews)", ylabel=label)
        axis.set_xticks(sizes, [f"{k}x" for k in sizes])
        axis.grid(True, which="both", alpha=0.3)
    time_axis.legend(fontsize=8)
    memory_axis.legend(fontsize=8)
    figure.suptitle("Each stage's own process, 1x / 4x / 16x archives")
    figure.tight_layout()
    FIGURE.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(FIGURE, dpi=100)

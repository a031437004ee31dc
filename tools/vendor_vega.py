"""Write .dvc/plots/page.html: DVC's plots page with the vega libraries inlined, so it draws offline.

dvc-render loads vega, vega-lite and vega-embed from a CDN; `dvc plots show` and `dvc plots diff`
use this page instead (.dvc/config: plots.html_template). It inlines the exact versions that the
installed dvc-render pins, taken from the npm registry (`npm pack` checks each tarball against the
registry's sha512). Run it after upgrading dvc-render, with network and npm:

    python -m tools.vendor_vega

The same versions give the same bytes, so re-running it on an unchanged dvc-render changes nothing.
After editing the page's style or script below, `python -m tools.vendor_vega --keep-scripts`
rewrites it around the libraries it already holds, without network.
"""

import argparse
import hashlib
import json
import re
import subprocess
import tarfile
import tempfile
from pathlib import Path

from dvc_render.html import HTML
from dvc_render.vega import VegaRenderer

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / ".dvc" / "plots" / "page.html"
CDN_SCRIPT = re.compile(r'<script src="https://cdn\.jsdelivr\.net/npm/([\w-]+)@([\d.]+)"></script>')
# What each version's CDN address serves: the package's "jsdelivr" file.
CDN_FILE = "jsdelivr"
# One library as script_block writes it: its comment (versions, digests, licence), then its script.
INLINED = re.compile(r"<!-- [\w-]+ [\d.]+: .*?\n</script>", re.DOTALL)

# The charts flow in rows that wrap, so nothing scrolls sideways. DVC puts each image plot in a div
# whose inline style forbids wrapping (its revisions in one line, at full size, however many): here
# they share the line instead, each shrunk to its share of the window.
STYLE = """\
body { font-family: sans-serif; margin: 12px; display: flex; flex-wrap: wrap; gap: 12px 24px;
       align-items: flex-start; }
table { border-spacing: 15px; }
body > div[id]:has(img) { white-space: normal !important; display: flex; flex-wrap: wrap;
       align-items: flex-start; justify-content: center; max-width: 100%; box-sizing: border-box; }
body > div[id]:has(img) > p { flex-basis: 100%; width: 0; min-width: 100%; }  /* no share of the width */
body > div[id]:has(img) > div { flex: 1 1 0; min-width: 0; max-width: max-content; }
body > div[id] img { max-width: 100%; height: auto; }
#per-file-charts { flex-basis: 100%; }
#per-file-charts summary { cursor: pointer; color: #444; }"""

# DVC draws every stage `plots:` output file on its own too, with its default template, after
# dvc.yaml's top-level charts; this project's data files are stage plots so that their stages
# enter the run-cache, and the top-level charts draw them readably. So those per-file charts (their
# div id is the file's path) go into a closed section at the end; images stay where DVC puts them.
FOLD_PER_FILE_CHARTS = """\
<script>
(() => {
  const perFile = [...document.querySelectorAll("body > div[id]")]
    .filter((div) => /_(csv|tsv|json|ya?ml)$/.test(div.id));
  if (perFile.length === 0) return;
  const section = document.createElement("details");
  const summary = document.createElement("summary");
  section.id = "per-file-charts";
  summary.textContent =
    `DVC's default chart of each stage plot file (${perFile.length}); the charts above draw the same data`;
  section.append(summary, ...perFile);
  document.body.append(section);
})();
</script>"""


def pinned() -> list[tuple[str, str]]:
    """(package, version) in the order dvc-render loads them: vega, vega-lite, vega-embed."""
    found = CDN_SCRIPT.findall(VegaRenderer.SCRIPTS)
    if [name for name, _ in found] != ["vega", "vega-lite", "vega-embed"]:
        raise SystemExit(f"unexpected scripts in dvc-render's VegaRenderer.SCRIPTS: {VegaRenderer.SCRIPTS}")
    return found


def npm_pack(spec: str, folder: Path) -> tuple[Path, str]:
    """The package tarball from the npm registry and its sha512 integrity string."""
    out = subprocess.run(
        ["npm", "pack", spec, "--json", "--pack-destination", str(folder)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    (info,) = json.loads(out)
    return folder / info["filename"], info["integrity"]


def package_files(tarball: Path) -> tuple[dict, str, str]:
    """package.json, the CDN file's text and the licence text of one npm tarball."""
    with tarfile.open(tarball) as tar:

        def read(name: str) -> str:
            return tar.extractfile(f"package/{name}").read().decode("utf-8")

        manifest = json.loads(read("package.json"))
        return manifest, read(manifest[CDN_FILE]), read("LICENSE")


def script_block(name: str, version: str, integrity: str, manifest: dict, code: str, licence: str) -> str:
    for forbidden in ("</script", "-->", *(f"{{{p}}}" for p in (HTML.PLOTS_PLACEHOLDER, HTML.SCRIPTS_PLACEHOLDER))):
        if forbidden in code or forbidden in licence:
            raise SystemExit(f"{name}@{version}: contains {forbidden!r}, cannot be inlined as is")
    digest = hashlib.sha256(code.encode("utf-8")).hexdigest()
    return (
        f"<!-- {name} {version}: {manifest[CDN_FILE]} of the npm package (tarball {integrity}),\n"
        f"     sha256 {digest}. Licence: {manifest['license']}\n\n{licence.strip()}\n-->\n"
        f'<script data-package="{name}@{version}">\n{code.strip()}\n</script>'
    )


def page(blocks: list[str], versions: str) -> str:
    # DVC fills three placeholders in braces: the refresh tag, the scripts and the plots. The
    # scripts one is left out on purpose, since it adds the CDN tags; so is its name in the text.
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            "{" + HTML.REFRESH_PLACEHOLDER + "}",
            "<title>DVC plots</title>",
            "<!-- The page of `dvc plots show` and `dvc plots diff` (.dvc/config: plots.html_template),",
            f"     with {versions} inlined so that it draws without network.",
            "     Written by `python -m tools.vendor_vega`: do not edit by hand. -->",
            *blocks,
            f"<style>\n{STYLE}\n</style>",
            "</head>",
            "<body>",
            "{" + HTML.PLOTS_PLACEHOLDER + "}",
            FOLD_PER_FILE_CHARTS,
            "</body>",
            "</html>",
            "",
        ]
    )


def inlined(text: str) -> tuple[list[str], list[str]]:
    """The script blocks of a page this tool wrote, and their "name version" labels."""
    blocks = INLINED.findall(text)
    names = [" ".join(label.split("@")) for label in re.findall(r'<script data-package="([\w.@-]+)">', text)]
    if [tuple(name.split(" ")) for name in names] != pinned():
        raise SystemExit(
            f"{PAGE.relative_to(ROOT)} inlines {names}, dvc-render pins {pinned()}: run without --keep-scripts"
        )
    return blocks, names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--keep-scripts",
        action="store_true",
        help="no npm: rewrite the page around the libraries it inlines already (after editing its style or script)",
    )
    if parser.parse_args().keep_scripts:
        blocks, names = inlined(PAGE.read_text(encoding="utf-8"))
    else:
        blocks, names = vendored()
    PAGE.parent.mkdir(parents=True, exist_ok=True)
    PAGE.write_text(page(blocks, ", ".join(names)), encoding="utf-8")
    print(f"{PAGE.relative_to(ROOT)}: {', '.join(names)} ({PAGE.stat().st_size:,} bytes)")


def vendored() -> tuple[list[str], list[str]]:
    """Each pinned library from the npm registry, as a script block, and its "name version" label."""
    blocks, names = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name, version in pinned():
            tarball, integrity = npm_pack(f"{name}@{version}", Path(tmp))
            manifest, code, licence = package_files(tarball)
            if manifest["version"] != version:
                raise SystemExit(f"npm gave {name} {manifest['version']}, expected {version}")
            blocks.append(script_block(name, version, integrity, manifest, code, licence))
            names.append(f"{name} {version}")
    return blocks, names


if __name__ == "__main__":
    main()

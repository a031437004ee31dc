"""Open a `dvc plots show` / `dvc plots diff` page in headless Chromium and report what each chart drew.

Every request that is not a local file is blocked and recorded, so a page that still needs the
network draws blank here even on a machine that has one. Used by tests/test_plots_page.py, and
by hand to check a page and take its screenshot:

    dvc plots show && python -m tools.plots_page dvc_plots/index.html --screenshot dvc_plots/plots_page.png

Needs Debian's `chromium` (apt-get install chromium) and the `playwright` package (requirements-dev.txt);
Playwright drives that Chromium, it downloads no browser of its own.
"""

import argparse
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import BrowserContext, Playwright, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
# The machine has no network: without these, Chromium tries (and logs) refused connections of its own.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 900}  # a laptop browser window; the page must fit its width
MIN_PIXELS = 30  # of a series' colour, for it to count as drawn

# Runs before the page's scripts: wraps vegaEmbed, once the page defines it, to keep each chart's
# promise, so the checks can wait for the charts and read their Vega views.
RECORD_EMBEDS = """
window.__embeds = [];
let embedFunction;
Object.defineProperty(window, "vegaEmbed", {
  configurable: true,
  get() { return embedFunction; },
  set(real) {
    embedFunction = Object.assign(function (el, spec, options) {
      const result = real(el, spec, options);
      window.__embeds.push({ id: String(el).replace(/^#/, ""), title: spec.title && spec.title.text, result });
      return result;
    }, real);
  },
});
"""

# What each vega div and image of the page drew, once every chart has finished or failed.
INSPECT = """
async (timeoutMs) => {
  const timeout = new Promise((resolve) => setTimeout(() => resolve("timeout"), timeoutMs));
  const settle = (e) => e.result.then((r) => ({ view: r.view }), (err) => ({ error: String(err) }));
  const done = await Promise.race([Promise.all(window.__embeds.map(settle)), timeout]);
  const outcomes = done === "timeout" ? window.__embeds.map(() => ({ error: "timed out" })) : done;

  function dataMarks(node, found) {  // items of the marks that show data: not axes, legends, titles
    if (!node) return found;
    if (node.marktype && node.marktype !== "group" && node.role === "mark") found.count += node.items.length;
    for (const item of node.items || []) dataMarks(item, found);
    return found;
  }
  // Text items (axis labels, titles, text marks) with the role of their mark and, for an axis
  // label, the scale of its axis ("x", "y"); and one entry per distinct (mark type, revision, series, colour)
  // of the data marks, to tell which colours a chart gave its series and revisions.
  function texts(node, axis, found) {
    if (!node) return found;
    if (node.marktype === "text" && node.items) {
      for (const item of node.items) {
        if (item.text === undefined || item.text === null || item.text === "") continue;
        found.push({ role: node.role, axis, text: Array.isArray(item.text) ? item.text.join(" ") : String(item.text) });
      }
    }
    for (const item of node.items || []) {
      const scale = node.role === "axis" && item.datum && item.datum.scale;
      texts(item, scale || axis, found);
    }
    return found;
  }
  function colours(node, found) {
    if (!node) return found;
    if (node.role === "mark" && node.marktype !== "group" && node.marktype !== "text") {
      for (const item of node.items) {
        const d = item.datum || {};
        const colour = item.stroke || item.fill;
        const key = [node.marktype, d.rev, d.series, colour].join("|");
        const dash = item.strokeDash ? String(item.strokeDash) : null;
        if (!found.has(key)) found.set(key, { mark: node.marktype, rev: d.rev, series: d.series, colour, dash });
      }
    }
    for (const item of node.items || []) colours(item, found);
    return found;
  }
  function rgb(colour) {
    const c = document.createElement("canvas").getContext("2d");
    c.fillStyle = colour;
    const hex = c.fillStyle;  // normalised to #rrggbb
    return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  }
  function pixelsOf(canvas, colours) {
    const { width, height } = canvas;
    if (width === 0 || height === 0) return { painted: 0, counts: colours.map(() => 0) };  // nothing drawn
    const data = canvas.getContext("2d").getImageData(0, 0, width, height).data;
    const targets = colours.map(rgb);
    const counts = colours.map(() => 0);
    let painted = 0;
    for (let i = 0; i < data.length; i += 4) {
      const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
      if (a > 0 && (r < 245 || g < 245 || b < 245)) painted++;
      targets.forEach(([tr, tg, tb], k) => {
        if (Math.abs(r - tr) + Math.abs(g - tg) + Math.abs(b - tb) < 40) counts[k]++;
      });
    }
    return { painted, counts };
  }
  function scales(view) {
    const out = {};
    for (const name of ["x", "y", "color", "strokeDash", "yOffset"]) {
      let scale;
      try { scale = view.scale(name); } catch (e) { scale = undefined; }
      if (!scale) continue;
      const domain = Array.from(scale.domain(), (d) => (d instanceof Date ? d.toISOString() : d));
      out[name] = { type: scale.type, domain };
      if (name === "color" && scale.type === "ordinal") out[name].range = domain.map((d) => scale(d));
    }
    return out;
  }

  const embeds = window.__embeds.map((e, i) => ({ ...e, ...outcomes[i] }));
  // DVC's vega divs: every top-level div with an id but no image (vegaEmbed empties the div it fills).
  const divs = [...document.querySelectorAll("body > div[id]")].filter((div) => !div.querySelector("img"));
  const charts = divs.map((div) => {
    const embed = embeds.find((e) => e.id === div.id);
    const chart = { id: div.id, title: embed ? embed.title : null, embedded: Boolean(embed), error: null };
    const surface = div.querySelector("canvas.marks, svg.marks");
    chart.surface = surface ? surface.tagName.toLowerCase() : null;
    chart.size = surface ? [surface.clientWidth, surface.clientHeight] : [0, 0];
    chart.marks = 0;
    chart.painted = 0;
    chart.scales = {};
    chart.colour_pixels = {};
    chart.texts = [];
    chart.colours = [];
    if (!embed) return chart;
    if (embed.error) { chart.error = embed.error; return chart; }
    chart.marks = dataMarks(embed.view.scenegraph().root, { count: 0 }).count;
    chart.scales = scales(embed.view);
    chart.texts = texts(embed.view.scenegraph().root, null, []);
    chart.colours = [...colours(embed.view.scenegraph().root, new Map()).values()];
    const colour = chart.scales.color;
    const named = colour && colour.range ? colour.domain.map(String) : [];
    if (surface && surface.tagName === "CANVAS") {
      const { painted, counts } = pixelsOf(surface, colour && colour.range ? colour.range : []);
      chart.painted = painted;
      named.forEach((name, k) => { chart.colour_pixels[name] = counts[k]; });
    } else if (surface) {
      chart.painted = surface.querySelectorAll("path, rect, line, circle").length;
    }
    return chart;
  });
  const images = [...document.images].map((img) => ({
    src: img.getAttribute("src"), drawn: img.complete && img.naturalWidth > 0,
  }));
  const versions = {
    "vega": window.vega && window.vega.version,
    "vega-lite": window.vegaLite && window.vegaLite.version,
    "vega-embed": window.vegaEmbed && window.vegaEmbed.version,
  };
  // The closed section where the page template puts DVC's per-file charts of stage plot files.
  const section = document.getElementById("per-file-charts");
  const perFile = section
    ? { open: section.open, ids: [...section.querySelectorAll(":scope > div[id]")].map((div) => div.id) }
    : null;
  const root = document.documentElement;
  const width = { page: root.scrollWidth, window: root.clientWidth };
  return { charts, images, versions, per_file: perFile, width };
}
"""


@dataclass
class PageReport:
    """What a page drew: one dict per vega chart in view and per image, and what went wrong around them."""

    charts: list[dict]
    images: list[dict]
    versions: dict[str, str | None]
    per_file: dict | None  # the closed section of DVC's per-file charts: {"open": bool, "ids": [...]}
    width: dict[str, int]  # the page's scroll width and the window's: wider means a horizontal scroll bar
    errors: list[str] = field(default_factory=list)  # console errors and uncaught exceptions
    warnings: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)  # requests that would have left the machine

    def problems(self) -> list[str]:
        """Every reason to call the page broken, one line each; empty for a page that drew everything."""
        found = [f"console error: {e}" for e in self.errors]
        found += [f"network request (blocked): {url}" for url in self.blocked]
        if not self.charts and not self.images:
            found.append("no charts on the page")
        for chart in self.charts:
            name = chart["title"] or chart["id"]
            if not chart["embedded"]:
                found.append(f"{name}: blank, vegaEmbed never ran")
            elif chart["error"]:
                found.append(f"{name}: {chart['error']}")
            elif chart["surface"] is None or 0 in chart["size"]:
                found.append(f"{name}: no canvas or svg drawn")
            elif chart["marks"] == 0 or chart["painted"] == 0:
                found.append(f"{name}: axes but no marks")
            else:
                found += [
                    f"{name}: series {series!r} has {n} pixels of its colour"
                    for series, n in chart["colour_pixels"].items()
                    if n < MIN_PIXELS
                ]
        found += [f"image not drawn: {image['src']}" for image in self.images if not image["drawn"]]
        if self.width["page"] > self.width["window"]:
            found.append(
                f"page {self.width['page']} px wide in a {self.width['window']} px window: it scrolls sideways"
            )
        return found


def launch(playwright: Playwright, profile: Path) -> BrowserContext:
    """Debian's Chromium, headless, with a fresh profile in `profile`."""
    if not CHROMIUM.exists():
        raise FileNotFoundError(f"{CHROMIUM} not found: apt-get install chromium (.ci/run does)")
    return playwright.chromium.launch_persistent_context(
        str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, viewport=VIEWPORT
    )


def inspect(context: BrowserContext, html: Path, screenshot: Path | None = None, timeout_s: float = 20) -> PageReport:
    """Load `html` from disk, wait for every chart, and report; optionally save a full-page screenshot."""
    page = context.new_page()
    errors: list[str] = []
    warnings: list[str] = []
    blocked: list[str] = []

    def on_console(message) -> None:
        if message.type == "error":
            errors.append(message.text)
        elif message.type == "warning":
            warnings.append(message.text)

    def route(request_route) -> None:
        url = request_route.request.url
        if url.startswith("file:"):
            request_route.continue_()
        else:
            blocked.append(url)
            request_route.abort()

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(f"uncaught {error}"))
    page.route("**/*", route)
    page.add_init_script(RECORD_EMBEDS)
    try:
        page.goto(html.resolve().as_uri(), wait_until="load", timeout=timeout_s * 1000)
        result = page.evaluate(INSPECT, timeout_s * 1000)
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
    finally:
        page.close()
    return PageReport(**result, errors=errors, warnings=warnings, blocked=blocked)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path, nargs="?", default=Path("dvc_plots/index.html"))
    parser.add_argument("--screenshot", type=Path, help="save a full-page PNG here")
    args = parser.parse_args()
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = launch(playwright, Path(profile))
        try:
            report = inspect(context, args.page, args.screenshot)
        finally:
            context.close()
    for chart in report.charts:
        print(f"{chart['title'] or chart['id']}: {chart['marks']} marks, {chart['painted']} pixels drawn")
    for image in report.images:
        print(f"{image['src']}: {'drawn' if image['drawn'] else 'NOT DRAWN'}")
    problems = report.problems()
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

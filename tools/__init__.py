"""Developer tools: the generated tables of the docs (`make docs`), and the `dvc plots` page
(vendoring the vega libraries, checking it in Chromium)."""

"""Developer tools for the `dvc plots` page: vendoring the vega libraries, checking it in Chromium."""

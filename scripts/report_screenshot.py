"""Screenshot of a run's report.html in headless Chromium (Debian's ``chromium``, driven by Playwright):
the headline, the verdict table filtered to the metric artifacts, and the first panel beside it.

Run: python scripts/report_screenshot.py DIR OUT.png   (DIR: an output folder of reproduce/audit/score)
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright


def main(directory: str, out: str) -> None:
    report = Path(directory) / "report.html"
    if not report.exists():
        from emergence_lens.report.html import write_report

        write_report(directory)
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        raise SystemExit("needs Debian's chromium: apt-get install -y chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, device_scale_factor=1)
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:")) else r.abort())
        page.goto(report.resolve().as_uri())
        page.select_option("#filter-verdict", "metric artifact")
        first = page.locator("#verdicts tbody tr:not([hidden]) details").first
        if first.count():
            first.evaluate("d => d.open = true")
        page.screenshot(path=out, full_page=False)
        browser.close()
    print(f"wrote {out}")


if __name__ == "__main__":
    main(*sys.argv[1:3])

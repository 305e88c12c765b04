"""The HTML report, opened from disk in a real headless Chromium (Debian's ``chromium`` driven by
Playwright's Python client; no browser download).  ``.ci/run`` installs the browser when it is
missing, so in CI (``CI`` set) a missing browser fails instead of skipping."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from emergence_lens.cli import app
from emergence_lens.records import write_records
from emergence_lens.report.html import REPORT_FILE
from tests.conftest import make_records

runner = CliRunner()
DATA = Path(__file__).parent / "data"
BUDGET = 10_000_000  # bytes: the default reproduce report's size budget (issue)


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def browser():
    exe = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if exe is None or sync_playwright is None:
        what = "Debian's chromium" if exe is None else "the playwright package (test extra)"
        if os.environ.get("EMERGENCE_LENS_REQUIRE_BROWSER") or os.environ.get("CI"):
            pytest.fail(f"{what} is missing; .ci/run installs it")
        pytest.skip(f"{what} is not installed (apt-get install -y chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-default-apps"])
        yield b
        b.close()


def _verdict_rows(directory: Path) -> pd.DataFrame:
    frames = [pd.read_csv(f) for f in [directory / "verdicts.csv", *sorted(directory.glob("*/verdicts.csv"))]
              if f.exists()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def check_report(browser, path: Path, expected_rows: int) -> list[str]:
    """Open ``path`` from file:// and return every problem found (empty: the page works)."""
    problems: list[str] = []
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    url = path.resolve().as_uri()

    def on_request(request) -> None:
        if request.url != url and not request.url.startswith("data:"):
            problems.append(f"request attempted: {request.url[:120]}")

    def route(r) -> None:  # nothing may leave the page; anything but the file itself is refused
        if r.request.url == url or r.request.url.startswith("data:"):
            r.continue_()
        else:
            r.abort()

    page.route("**/*", route)
    page.on("request", on_request)
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text[:200]}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.goto(url)
    page.wait_for_load_state("load")
    rows = page.locator("#verdicts tbody tr")
    if rows.count() != expected_rows:
        problems.append(f"verdict table has {rows.count()} rows, verdict CSVs have {expected_rows}")
    broken = page.eval_on_selector_all("img", "is => is.filter(i => !(i.complete && i.naturalWidth > 0)).length")
    if broken:
        problems.append(f"{broken} image(s) with no natural size")
    # every panel is drawn: one inline SVG with marks, laid out at a visible size
    panels = page.eval_on_selector_all(".panel", "ps => ps.map(p => { const s = p.querySelector('svg'); "
                                       "if (!s) return 'no svg'; const r = s.getBoundingClientRect(); "
                                       "return r.width > 100 && r.height > 100 && s.querySelectorAll('circle').length "
                                       "> 0 ? '' : 'empty or too small'; })")
    bad = [i for i, why in enumerate(panels) if why]
    if bad:
        problems.append(f"{len(bad)} of {len(panels)} panel(s) not drawn (first: #{bad[0]}: {panels[bad[0]]})")
    if page.evaluate("typeof window.__pwned") != "undefined":
        problems.append("an injected script ran")
    if expected_rows > 1:
        # sorting: the metric-score column, clicked twice, gives the two orders of its values
        col = page.eval_on_selector_all("#verdicts thead th", "hs => hs.findIndex(h => h.textContent.trim() === "
                                        "'metric score')") + 1
        read = f"rs => rs.map(r => r.cells[{col - 1}].getAttribute('data-v'))"
        before = page.eval_on_selector_all("#verdicts tbody tr", read)
        page.click(f"#verdicts thead th:nth-child({col})")
        asc = page.eval_on_selector_all("#verdicts tbody tr", read)
        page.click(f"#verdicts thead th:nth-child({col})")
        desc = page.eval_on_selector_all("#verdicts tbody tr", read)
        nums = [float(v) for v in asc if v not in ("", None)]
        if nums != sorted(nums):
            problems.append("sorting by metric score does not order the rows")
        if len(set(before)) > 1 and (asc == desc):
            problems.append("clicking a sorted column again does not reverse it")
        # filtering: by verdict, then by text that matches nothing
        options = page.eval_on_selector_all("#filter-verdict option", "os => os.map(o => o.value).filter(v => v)")
        if not options:
            problems.append("the verdict filter offers no verdicts")
        else:
            page.select_option("#filter-verdict", options[0])
            shown = page.locator("#verdicts tbody tr:not([hidden])").count()
            want = page.eval_on_selector_all(
                "#verdicts tbody tr", f"rs => rs.filter(r => r.dataset.verdict === {options[0]!r}).length")
            if shown != want or (len(options) > 1 and shown == expected_rows):
                problems.append(f"verdict filter shows {shown} rows, {want} have that verdict")
            page.select_option("#filter-verdict", "")
            page.fill("#filter-text", "no-such-text-anywhere-xyz")
            if page.locator("#verdicts tbody tr:not([hidden])").count() != 0:
                problems.append("text filter does not hide rows")
            page.fill("#filter-text", "")
            if page.locator("#verdicts tbody tr:not([hidden])").count() != expected_rows:
                problems.append("clearing the filter does not show every row again")
    page.close()
    return problems


def test_reproduce_quick_report_works_in_a_browser(browser, quick_run):
    report = quick_run / REPORT_FILE
    assert report.exists(), "reproduce writes report.html"
    assert report.stat().st_size < BUDGET
    verdicts = _verdict_rows(quick_run)
    assert len(verdicts) > 10
    assert check_report(browser, report, len(verdicts)) == []
    text = report.read_text()
    # provenance: version, the command, the seed, time taken
    assert "run.json" not in text or "Provenance" in text
    assert re.search(r"<th>seed</th><td>0</td>", text) and "reproduce" in text and "time taken" in text
    # one panel per sharp metric with a partner, each linked from its rows
    sharp = verdicts[verdicts["partner"].notna()].drop_duplicates(["family", "task", "metric"])
    assert text.count('class="panel"') >= len(sharp) > 0


def test_audit_report_works_in_a_browser_and_shows_the_issues_log(browser, tmp_path):
    out = tmp_path / "audit"
    src = tmp_path / "in"
    shutil.copytree(DATA / "lmeval_wild", src)
    (src / "broken.json").write_text('{"results": {"t": ')  # truncated: reported, never fatal
    res = runner.invoke(app, ["audit", str(src), "--out", str(out), "--n-boot", "200"])
    assert res.exit_code == 0, res.output
    report = out / REPORT_FILE
    assert report.exists()
    assert check_report(browser, report, len(_verdict_rows(out))) == []
    text = report.read_text()
    assert "broken.json" in text and "issues.csv" in text
    assert "<b></b>" not in text and ">nan<" not in text  # a curve without a partner reads as itself
    # every input file with its SHA-256
    import hashlib
    digest = hashlib.sha256((src / "broken.json").read_bytes()).hexdigest()
    assert digest in text


def test_check_fails_when_the_page_breaks(browser, quick_run, tmp_path):
    """The check is not vacuous: a table with a row missing, or a script that fails, is caught."""
    good = (quick_run / REPORT_FILE).read_text()
    n = len(_verdict_rows(quick_run))
    broken = tmp_path / "missing_row.html"
    broken.write_text(re.sub(r"<tr data-verdict=.*?</tr>", "", good, count=1, flags=re.S))
    assert any("verdict table has" in p for p in check_report(browser, broken, n))
    no_script = tmp_path / "no_script.html"
    no_script.write_text(good.replace("th.addEventListener('click'", "th.addEventListener('dblclick'"))
    problems = check_report(browser, no_script, n)
    assert any("sorting" in p or "reverse" in p or "console" in p for p in problems), problems
    remote = tmp_path / "remote.html"
    remote.write_text(good.replace("</main>", '<img src="https://example.invalid/x.png"></main>'))
    assert any("request attempted" in p or "console" in p for p in check_report(browser, remote, n))


def test_names_and_outputs_with_markup_are_escaped_and_never_run(browser, tmp_path):
    evil = '<script>window.__pwned=1</script>'
    df = make_records(n_models=4, n_examples=6)
    df["family"] = evil
    df["task"] = '<img src=x onerror="window.__pwned=2">'
    df["model"] = df["model"] + '"><svg onload="window.__pwned=3">'
    df["prediction"] = df["prediction"].where(df.index % 3 > 0, '<script>window.__pwned=4</script>')
    rec = write_records(df, tmp_path / "evil.parquet")
    out = tmp_path / "out"
    res = runner.invoke(app, ["score", str(rec), "--out", str(out), "--n-boot", "100"])
    assert res.exit_code == 0, res.output
    report = out / REPORT_FILE
    text = report.read_text()
    assert "<script>window.__pwned" not in text and "onerror=\"window" not in text
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in text
    assert check_report(browser, report, len(_verdict_rows(out))) == []


def test_report_command_on_any_output_folder(tmp_path, quick_run):
    res = runner.invoke(app, ["report", str(quick_run / "simulated")])
    assert res.exit_code == 0, res.output
    assert (quick_run / "simulated" / REPORT_FILE).stat().st_size > 10_000
    res = runner.invoke(app, ["report", str(tmp_path)])
    assert res.exit_code == 2 and "no verdicts.csv" in res.output

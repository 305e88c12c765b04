"""One self-contained HTML page per run (``DIR/report.html``), for any output folder of
``reproduce``, ``audit`` or ``score``.

What a reader sees, top to bottom: the headline (how many curves, how many jump under their metric,
how many of those the smooth partner explains); the verdict table (one row per family x task x metric
pair, sortable and filterable in the page); a panel per sharp metric with its partners side by side
against scale (CIs, the band predicted from the ingredient, open markers and the resolution limit for
points at 0 — cf. Schaeffer et al. 2023, Figs. 3-4 and 7-9); every figure of the run; the issues log;
the inputs and provenance (version, command, seed, SHA-256 of every input, time taken).

Self-contained by construction: the run's figures are inline base64 PNG, the per-curve panels inline
SVG (:mod:`emergence_lens.report.panels`), the one small script is inline, and a
Content-Security-Policy (``default-src 'none'``, images only from ``data:``, the script allowed by its
SHA-256 hash) forbids every request and every other script — so a model name such as
``<script>...`` can neither run nor fetch, on top of every input string being HTML-escaped.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emergence_lens import __version__
from emergence_lens._io import atomic_write_text
from emergence_lens.outputs import own_files
from emergence_lens.report.panels import Panel, panel_svg
from emergence_lens.report.provenance import read_run_info

__all__ = ["REPORT_FILE", "write_report", "ReportError"]

REPORT_FILE = "report.html"
MAX_TABLE_ROWS = 2000  # issues/inputs tables beyond this are cut, with the count and the CSV named

# Folders a run writes that hold inputs or checkpoints, not results to show.
_SKIP_DIRS = {"ladder", "eval", "checkpoints", "__pycache__"}


class ReportError(ValueError):
    """The folder holds nothing a report can be made from (no verdicts, curves or audit tables)."""


@dataclass
class _Section:
    """One analysed folder: ``DIR`` itself (audit, score) or one experiment of ``reproduce``."""

    name: str
    path: Path
    verdicts: pd.DataFrame
    points: pd.DataFrame
    predictions: pd.DataFrame
    figures: list[Path] = field(default_factory=list)
    _index: dict[str, dict[tuple[str, ...], pd.DataFrame]] = field(default_factory=dict, repr=False)

    def points_of(self, family: str, task: str) -> pd.DataFrame:
        """The points of one (family, task), in file order (grouped once: a report has one panel
        per curve, and filtering the whole table per panel grew with the square of the curves)."""
        if "points" not in self._index:
            pts = self.points
            self._index["points"] = ({} if pts.empty else
                                     {k: g for k, g in pts.groupby(["family", "task"], sort=False)})
        return self._index["points"].get((family, task), self.points.iloc[:0])

    def band_of(self, family: str, task: str, metric: str) -> pd.DataFrame | None:
        """The forecast band (``fit_on == "all"`` predictions) of one curve; ``None`` without predictions."""
        pr = self.predictions
        if pr.empty or not {"family", "task", "metric", "fit_on"} <= set(pr.columns):
            return None
        if "band" not in self._index:
            keys = pd.DataFrame({c: pr[c].astype(str) for c in ("family", "task", "metric", "fit_on")})
            sel = pr[keys["fit_on"] == "all"]
            self._index["band"] = {k: g for k, g in sel.groupby([keys.loc[sel.index, c] for c in
                                                                  ("family", "task", "metric")], sort=False)}
        return self._index["band"].get((family, task, metric), pr.iloc[:0])


def _esc(value: Any) -> str:
    """HTML-escaped text of a cell ('' for missing)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return html.escape(str(value), quote=True)


def _num(value: Any, digits: int = 3) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return _esc(value)
    if np.isnan(v):
        return ""
    return f"{v:.{digits}g}"


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.exists() or path.stat().st_size == 0:
        return pd.DataFrame()
    try:
        return pd.read_csv(path, keep_default_na=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError):
        return pd.DataFrame()


def _points(folder: Path) -> pd.DataFrame:
    """Per-scale points of every curve with CIs, in one shape whatever command wrote the folder:
    ``curves.csv`` of an analysis (``ci_low``/``ci_high``), an audit's ``rescored_curves.csv`` (samples
    scored here) and its ``curves.csv`` (results-only: the replicate interval where there is one)."""
    frames = []
    for name in ("rescored_curves.csv", "curves.csv"):
        t = _read_csv(folder / name)
        if t.empty or not {"task", "metric", "model", "value"} <= set(t.columns):
            continue
        t = t.copy()
        if "ci_low" not in t.columns:
            t["ci_low"] = t["replicate_low"] if "replicate_low" in t.columns else np.nan
            t["ci_high"] = t["replicate_high"] if "replicate_high" in t.columns else np.nan
        if "family" not in t.columns:
            t["family"] = folder.name
        for c in ("scale_params", "scale_flops", "pretrain_loss", "n_correct", "n_examples", "resolution_limit",
                  "cp_high", "higher_is_better"):
            if c not in t.columns:
                t[c] = np.nan
        frames.append(t[["family", "task", "metric", "model", "scale_params", "scale_flops", "pretrain_loss", "value",
                         "ci_low", "ci_high", "n_correct", "n_examples", "resolution_limit", "cp_high",
                         "higher_is_better"]])
    if not frames:
        return pd.DataFrame()
    out = pd.concat(frames, ignore_index=True)
    for c in ("family", "task", "metric", "model"):
        out[c] = out[c].fillna("").astype(str)
    # A curve rescored from samples wins over the same curve read from a results file.
    return out.drop_duplicates(["family", "task", "metric", "model"], keep="first")


def _own_figures(folder: Path) -> list[Path]:
    """The PNG figures of ``folder`` that its run wrote (:func:`emergence_lens.outputs.own_files`):
    never a picture someone else left there, nor an earlier run's."""
    own = own_files(folder)
    return sorted(p for p in folder.glob("*.png") if own is None or p.resolve() in own)


def _sections(directory: Path) -> list[_Section]:
    out = []
    candidates = [directory, *sorted(p for p in directory.iterdir() if p.is_dir() and p.name not in _SKIP_DIRS)]
    for folder in candidates:
        verdicts = _read_csv(folder / "verdicts.csv")
        points = _points(folder)
        if verdicts.empty and points.empty and not any((folder / f).exists() for f in ("issues.csv", "inputs.csv")):
            continue
        for c in ("family", "task", "metric", "partner"):
            if c in verdicts.columns:
                verdicts[c] = verdicts[c].astype(object).fillna("").astype(str)
        figures = _own_figures(folder)
        name = "run" if folder == directory else folder.name
        out.append(_Section(name, folder, verdicts, points, _read_csv(folder / "predictions.csv"), figures))
    return out


# ---------------------------------------------------------------------------------------------- panels

def _panel_inputs(section: _Section, family: str, task: str, metric: str, partners: list[str],
                  axis: str) -> Panel | None:
    """The rows a curve's panel draws: the sharp metric and each partner on the same models."""
    if section.points.empty:
        return None
    sel = section.points_of(family, task)
    names = [metric, *[p for p in partners if p]]
    curves = [(m, sel[sel["metric"] == m]) for m in names]
    curves = [(m, c) for m, c in curves if len(c)]
    if not curves:
        return None
    return Panel(curves, section.band_of(family, task, metric), axis)


# ---------------------------------------------------------------------------------------------- HTML

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
main{max-width:1280px;margin:0 auto;padding:18px 28px 60px}
h1{font-size:22px;margin:8px 0 2px}h2{font-size:18px;margin:30px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
.lede{color:#555;margin:0 0 14px}
.headline{display:flex;flex-wrap:wrap;gap:10px;margin:14px 0}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:150px}
.card b{display:block;font-size:24px}
table{border-collapse:collapse;background:#fff;font-size:12.5px;width:100%}
th,td{border:1px solid #e1e1e1;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f0f0f0;position:sticky;top:0;cursor:pointer;user-select:none;white-space:nowrap}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.expl{min-width:180px;max-width:420px;font-size:11.5px;color:#333}\nsummary{cursor:pointer}
.controls{display:flex;gap:10px;align-items:center;margin:8px 0;flex-wrap:wrap}
.controls input,.controls select{font:inherit;padding:3px 6px}
.v{border-radius:3px;padding:1px 5px;white-space:nowrap}
.v-metric-artifact{background:#d8ecff}.v-persists{background:#ffe1d6}.v-beyond-the-metric{background:#ffd6e8}
.v-no-emergence{background:#e6f4e6}.v-inconclusive{background:#f0f0f0}.v-no-measurable-ability{background:#fff3c4}
.v-not-scored{background:#eee;color:#777}
.panel{display:inline-block;background:#fff;border:1px solid #ddd;border-radius:6px;margin:6px;padding:6px;
vertical-align:top}.panel svg{display:block;max-width:100%;height:auto}
.panel p{margin:2px 4px 4px;font-size:12px;max-width:860px}
.fig{background:#fff;border:1px solid #ddd;border-radius:6px;margin:8px 0;padding:8px}
.fig img{max-width:100%;height:auto}
.scroll{max-height:520px;overflow:auto;border:1px solid #ddd}
pre{white-space:pre-wrap;background:#fff;border:1px solid #ddd;padding:10px;font-size:12px}
.muted{color:#777}
"""

_SCRIPT = """
(function(){
  function cellValue(row, i){
    var t = row.cells[i].getAttribute('data-v');
    if (t === null) t = row.cells[i].textContent;
    var n = parseFloat(t);
    return (t.trim() !== '' && isFinite(t)) ? n : t.toLowerCase();
  }
  document.querySelectorAll('table.sortable').forEach(function(table){
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function(th, i){
      th.addEventListener('click', function(){
        var asc = th.getAttribute('aria-sort') !== 'ascending';
        Array.prototype.forEach.call(heads, function(h){ h.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function(a, b){
          var x = cellValue(a, i), y = cellValue(b, i);
          var bothNum = typeof x === 'number' && typeof y === 'number';
          var c = bothNum ? x - y : String(x).localeCompare(String(y), undefined, {numeric: true});
          return asc ? c : -c;
        });
        rows.forEach(function(r){ body.appendChild(r); });
      });
    });
  });
  var table = document.getElementById('verdicts');
  if (!table) return;
  var text = document.getElementById('filter-text');
  var verdict = document.getElementById('filter-verdict');
  var count = document.getElementById('shown');
  function apply(){
    var q = text.value.trim().toLowerCase(), v = verdict.value, n = 0;
    Array.prototype.forEach.call(table.tBodies[0].rows, function(r){
      var ok = (!q || r.textContent.toLowerCase().indexOf(q) >= 0) && (!v || r.getAttribute('data-verdict') === v);
      r.hidden = !ok; if (ok) n++;
    });
    count.textContent = n;
  }
  text.addEventListener('input', apply);
  verdict.addEventListener('change', apply);
  apply();
})();
"""

_VERDICT_COLUMNS = [
    ("section", "section", False), ("family", "family", False), ("task", "task", False), ("metric", "metric", False),
    ("partner", "partner", False), ("verdict", "verdict (click: why)", False), ("n_scales", "scales", True),
    ("metric_score", "metric score", True), ("metric_ci", "95% CI", False), ("metric_state", "metric state", False),
    ("partner_score", "partner score", True), ("partner_state", "partner state", False),
    ("paired_diff", "paired diff", True), ("paired_ci", "paired CI", False), ("explained", "explained", False),
    ("emerges_at", "emerges at", True),
]


def _css_class(text: str) -> str:
    """A CSS class name for a verdict word (the page's colours), not a file name."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def _panel_id(section: str, family: str, task: str, metric: str) -> str:
    digest = hashlib.sha1("\x1f".join((section, family, task, metric)).encode()).hexdigest()[:10]
    return f"p-{digest}"


def _ci(row: pd.Series, lo: str, hi: str) -> str:
    a, b = _num(row.get(lo)), _num(row.get(hi))
    return f"[{a}, {b}]" if a or b else ""


def _table(frame: pd.DataFrame, *, table_id: str | None = None, limit: int = MAX_TABLE_ROWS, source: str = "") -> str:
    if frame.empty:
        return '<p class="muted">none</p>'
    shown = frame.head(limit)
    head = "".join(f"<th>{_esc(c)}</th>" for c in shown.columns)
    body = []
    for row in shown.itertuples(index=False):
        cells = []
        for v in row:
            is_num = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
            cells.append(f'<td class="num">{_num(v, 6)}</td>' if is_num else f"<td>{_esc(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    note = ""
    if len(frame) > limit:
        note = f'<p class="muted">first {limit:,} of {len(frame):,} rows; all of them are in {_esc(source)}</p>'
    tid = f' id="{table_id}"' if table_id else ""
    return (f'{note}<div class="scroll"><table class="sortable"{tid}><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{_esc(path.name)}" src="data:image/png;base64,{data}">'


def _approximate(verdicts: pd.DataFrame) -> pd.Series:
    """Per verdict row: whether it comes from aggregates alone (results files), as a string column."""
    if "approximate" not in verdicts:
        return pd.Series("False", index=verdicts.index, name="approximate")
    return verdicts["approximate"].astype(str).rename("approximate")


def _verdict_rows(sections: list[_Section]) -> tuple[list[str], list[str], dict[str, Any]]:
    """The verdict table's rows, the panels (inline SVG) and the headline counts."""
    # a curve re-scored from samples and the same curve from results files alone (``approximate``) are two
    # curves with two verdicts, as in audit.csv and on the console
    groups = [(s, family, task, metric, g) for s in sections if not s.verdicts.empty
              for (family, task, metric, _), g in s.verdicts.groupby(
                  ["family", "task", "metric", _approximate(s.verdicts)], sort=False)]
    drawn = []
    for s, family, task, metric, g in groups:
        sp = _panel_inputs(s, str(family), str(task), str(metric),
                           [str(p) for p in g["partner"] if str(p)] if "partner" in g else [],
                           str(g.iloc[0].get("x_axis", "params")))
        drawn.append(None if sp is None else panel_svg(sp, f"{metric} and partners against scale"))
    rows: list[str] = []
    panels: list[str] = []
    curves: set[tuple[str, ...]] = set()
    sharp: set[tuple[str, ...]] = set()
    wei: set[tuple[str, ...]] = set()
    first_verdict: dict[tuple[str, ...], str] = {}
    for s in sections:  # sections without verdicts: their curves still count
        if s.verdicts.empty and not s.points.empty:
            for key in s.points[["family", "task", "metric"]].drop_duplicates().itertuples(index=False):
                curves.add((s.name, *map(str, key), "False"))
    for (s, family, task, metric, g), svg in zip(groups, drawn, strict=True):
        key = (s.name, str(family), str(task), str(metric), str(_approximate(g).iloc[0]))
        curves.add(key)
        first = g.iloc[0]
        if str(first.get("metric_state")) == "sharp":
            sharp.add(key)
        if str(first.get("wei_emergent")) == "True":
            wei.add(key)
        first_verdict[key] = str(first.get("verdict"))
        pid = _panel_id(*key[:4]) + ("-aggregate" if key[4] == "True" else "")
        if svg is not None:
            expl = "<br>".join((f"<b>vs {_esc(r.get('partner'))}</b>: " if r.get("partner") else "")
                               + _esc(r.get("explanation")) for _, r in g.iterrows())
            panels.append(f'<div class="panel" id="{pid}"><h3>{_esc(s.name)} / {_esc(family)} / {_esc(task)} / '
                          f'{_esc(metric)}</h3>{svg}<p>{expl}</p></div>')
        for _, r in g.iterrows():
            vals = {"section": s.name, **{k: r.get(k) for k in r.index},
                    "metric_ci": _ci(r, "metric_ci_low", "metric_ci_high"),
                    "paired_ci": _ci(r, "paired_diff_low", "paired_diff_high")}
            verdict = str(vals.get("verdict", ""))
            cells = []
            for col, _label, numeric in _VERDICT_COLUMNS:
                val = vals.get(col)
                if col == "verdict":
                    cls = "v-" + _css_class(verdict.split(" (")[0])
                    cells.append(f'<td class="expl" data-v="{_esc(verdict)}"><details><summary><span class="v {cls}">'
                                 f'{_esc(verdict)}</span></summary>{_esc(vals.get("explanation"))}</details></td>')
                elif col == "task" and svg is not None:
                    cells.append(f'<td data-v="{_esc(val)}"><a href="#{pid}">{_esc(val)}</a></td>')
                elif numeric:
                    cells.append(f'<td class="num" data-v="{_esc(val)}">{_num(val)}</td>')
                elif col in ("metric_ci", "paired_ci"):
                    cells.append(f'<td class="num">{_esc(val)}</td>')
                else:
                    cells.append(f"<td>{_esc(val)}</td>")
            rows.append(f'<tr data-verdict="{_esc(verdict)}">' + "".join(cells) + "</tr>")
    jumped = sharp | wei
    counts = {
        "curves": len(curves),
        "sharp": len(sharp),
        "wei": len(wei),
        "jumped": len(jumped),
        "artifact": sum(first_verdict.get(k) == "metric artifact" for k in jumped),
        "persists": sum(first_verdict.get(k) == "persists" for k in jumped),
        "beyond": sum(first_verdict.get(k) == "beyond the metric" for k in jumped),
        "verdicts": pd.Series(list(first_verdict.values()), dtype=object).value_counts().to_dict(),
    }
    return rows, panels, counts


def _provenance(directory: Path, sections: list[_Section]) -> str:
    info = read_run_info(directory)
    parts = []
    if info is None:
        parts.append('<p class="muted">No run.json in this folder (written by reproduce, audit and score): '
                     "provenance below is what the folder's manifests say.</p>")
        for s in sections:
            m = s.path / "manifest.json"
            if m.exists():
                try:
                    man = json.loads(m.read_text())
                except ValueError:
                    continue
                parts.append(f"<p>{_esc(s.name)}: version {_esc(man.get('version'))}, seed {_esc(man.get('seed'))}, "
                             f"quick={_esc(man.get('quick'))}, options {_esc(man.get('options'))}</p>")
        return "".join(parts)
    command = info.get("command_line") or " ".join(map(str, info.get("argv") or []))
    facts = [("version", info.get("version")), ("command", command),
             ("seed", info.get("seed")), ("started (UTC)", info.get("started_utc")),
             ("time taken", f"{info.get('seconds')} s"), ("Python", info.get("python")),
             ("platform", info.get("platform"))]
    parts.append("<table><tbody>" + "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in facts)
                 + "</tbody></table>")
    inputs = pd.DataFrame(info.get("inputs") or [], columns=["path", "bytes", "sha256"])
    parts.append(f"<h3>Input files ({len(inputs):,})</h3>" + _table(inputs, source="run.json"))
    return "".join(parts)


def _issues(directory: Path, sections: list[_Section]) -> str:
    parts = []
    for s in sections:
        for name, what in (("issues.csv", "Issues (what was skipped or reported, and why)"),
                           ("skipped.csv", "Curves not scored, and why"),
                           ("inputs.csv", "Every input file and what became of its rows")):
            f = s.path / name
            if f.exists():
                t = _read_csv(f)
                parts.append(f"<h3>{_esc(s.name)}: {_esc(what)} — {_esc(name)}, {len(t):,} rows</h3>"
                             + _table(t, source=str(f.name)))
    return "".join(parts) or '<p class="muted">No issues log in this folder.</p>'


def write_report(directory: str | os.PathLike[str], *, title: str | None = None,
                 pending: Sequence[Future[Any]] = ()) -> Path:
    """Write ``directory/report.html`` from what the run left in ``directory`` (and its experiment
    subfolders) and return its path.  Raises :class:`ReportError` when there is nothing to report.

    ``pending``: futures of figures still being drawn into ``directory`` (the audit's, by its
    workers), waited for before figures are read."""
    d = Path(directory)
    if not d.is_dir():
        raise ReportError(f"{d}: not a folder")
    sections = _sections(d)
    if not sections:
        raise ReportError(f"{d}: no verdicts.csv or curves.csv here or in its subfolders (run reproduce, audit or "
                          "score first)")
    rows, panels, c = _verdict_rows(sections)
    if pending:
        for fut in pending:
            fut.result()
        for s in sections:
            s.figures = _own_figures(s.path)
    verdict_names = sorted({re.search(r'data-verdict="([^"]*)"', r).group(1) for r in rows})
    options = "".join(f'<option value="{v}">{v}</option>' for v in verdict_names)
    head = "".join(f"<th>{_esc(label)}</th>" for _, label, _ in _VERDICT_COLUMNS)
    verdict_counts = ", ".join(f"{_esc(k)}: {v}" for k, v in c["verdicts"].items())
    figures = "".join(f'<div class="fig"><h3>{_esc(s.name)} / {_esc(p.name)}</h3>{_img(p)}</div>'
                      for s in sections for p in s.figures)
    summary = ""
    for s in sections:
        md = s.path / "summary.md"
        if md.exists():
            summary += (f"<details><summary>{_esc(s.name)}: summary.md</summary><pre>"
                        f"{_esc(md.read_text(encoding='utf-8', errors='replace'))}</pre></details>")
    script_hash = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
    csp = (f"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'sha256-{script_hash}'; "
           "base-uri 'none'; form-action 'none'")
    name = title or d.resolve().name
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>emergence-lens report: {_esc(name)}</title><style>{_CSS}</style></head>
<body><main>
<h1>emergence-lens report: {_esc(name)}</h1>
<p class="lede">Is the jump a property of the models or of the metric? Each sharp metric is set beside its
smooth partner on the same model outputs (Schaeffer, Miranda &amp; Koyejo 2023). emergence-lens {_esc(__version__)}.</p>
<section id="headline"><h2>Headline</h2><div class="headline">
<div class="card"><b id="n-curves">{c['curves']}</b>curves (family x task x metric)</div>
<div class="card"><b id="n-jumped">{c['jumped']}</b>jump under their metric (sharp: {c['sharp']}, near chance then
above: {c['wei']})</div>
<div class="card"><b id="n-artifact">{c['artifact']}</b>of those explained by the smooth partner (metric artifact)</div>
<div class="card"><b>{c['persists']} / {c['beyond']}</b>persist / beyond the metric</div>
</div><p class="muted">Verdicts against each metric's first partner: {verdict_counts or 'none'}.</p></section>
<section><h2>Verdicts</h2>
<div class="controls"><label>filter <input id="filter-text" type="search" placeholder="task, metric, model..."></label>
<label>verdict <select id="filter-verdict"><option value="">all</option>{options}</select></label>
<span><span id="shown">{len(rows)}</span> of {len(rows)} rows shown; click a column to sort, a task to see its
panel</span></div>
<div class="scroll"><table class="sortable" id="verdicts"><thead><tr>{head}</tr></thead>
<tbody>{''.join(rows)}</tbody></table></div></section>
<section id="panels"><h2>Each curve, a sharp metric beside its partners</h2>
<p class="muted">Black: observed with 95% CIs; blue: the band predicted from the smooth ingredient (holds jointly
over scales); open red circles: 0 observed, red triangles: the resolution limit (largest value a 0 out of n is
consistent with).</p>{''.join(panels) or '<p class="muted">none</p>'}</section>
<section id="figures"><h2>Figures</h2>{figures or '<p class="muted">none</p>'}</section>
<section id="issues"><h2>Issues log and inputs</h2>{_issues(d, sections)}</section>
<section id="provenance"><h2>Provenance</h2>{_provenance(d, sections)}{summary}</section>
</main><script>{_SCRIPT}</script></body></html>
"""
    return atomic_write_text(d / REPORT_FILE, page)

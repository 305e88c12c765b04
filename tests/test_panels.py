"""The report's per-curve panels (inline SVG): what they draw, escaped, on each axis."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from emergence_lens.report.panels import Panel, decade_label, nice_ticks, panel_svg

SVG = "{http://www.w3.org/2000/svg}"


def _points(values, *, scales=(1e6, 1e7, 1e8, 1e9), loss=None, flops=None, hib=True, cp_high=None) -> pd.DataFrame:
    n = len(values)
    v = np.asarray(values, float)
    return pd.DataFrame({"scale_params": scales[:n], "scale_flops": flops if flops is not None else [np.nan] * n,
                         "pretrain_loss": loss if loss is not None else [np.nan] * n, "value": v,
                         "ci_low": v - 0.05, "ci_high": v + 0.05, "higher_is_better": hib,
                         "cp_high": cp_high if cp_high is not None else [np.nan] * n,
                         "resolution_limit": [0.03] * n})


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # well-formed XML, or this raises


def test_a_panel_draws_each_curve_its_cis_and_the_band():
    band = pd.DataFrame({"scale": [1e6, 1e7, 1e8, 1e9], "predicted": [0.0, 0.1, 0.5, 0.9],
                         "predicted_low": [0.0, 0.05, 0.4, 0.8], "predicted_high": [0.1, 0.2, 0.6, 1.0]})
    svg = panel_svg(Panel([("exact_match", _points([0.0, 0.1, 0.6, 0.9])),
                           ("token_edit_distance", _points([3.0, 2.5, 1.0, 0.2], hib=False))], band, "params"),
                    "exact_match and partners")
    root = _parse(svg)
    assert root.get("role") == "img" and root.get("aria-label") == "exact_match and partners"
    texts = [t.text for t in root.iter(SVG + "text")]
    assert "exact_match (sharp metric)" in texts and "token_edit_distance" in texts
    assert texts.count("parameters (log scale)") == 2 and {"1e6", "1e7", "1e8", "1e9"} <= set(texts)
    assert len(list(root.iter(SVG + "polygon"))) == 1  # the band, on the sharp metric only
    circles = list(root.iter(SVG + "circle"))
    hollow = [c for c in circles if c.get("fill") == "#fff"]
    assert len(hollow) == 2  # the 0 observed (higher is better), and its legend mark; edit distance's 0 is not
    assert "0 observed" in texts and "resolution limit" in texts and "predicted from ingredient (joint band)" in texts
    assert int(root.get("width")) == 2 * 270


def test_names_are_escaped_and_the_bytes_are_the_same_every_time():
    name = '<script>window.__pwned=1</script>"&'
    panel = Panel([(name, _points([0.1, 0.2, 0.3]))], None, "params")
    svg = panel_svg(panel, name)
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    root = _parse(svg)
    assert root.get("aria-label") == name and name in [t.text for t in root.iter(SVG + "text")]
    assert svg == panel_svg(panel, name)


def test_the_loss_axis_runs_from_high_to_low_loss_and_flops_are_used_when_asked():
    pts = _points([0.1, 0.3, 0.8], loss=[4.0, 3.0, 2.0], flops=[1e18, 1e20, 1e22])
    root = _parse(panel_svg(Panel([("acc", pts)], None, "loss"), ""))
    assert "pretraining loss (decreasing)" in [t.text for t in root.iter(SVG + "text")]
    xs = [float(c.get("cx")) for c in root.iter(SVG + "circle")]
    assert xs == sorted(xs)  # falling loss (growing scale) to the right
    root = _parse(panel_svg(Panel([("acc", pts)], None, "flops"), ""))
    texts = [t.text for t in root.iter(SVG + "text")]
    assert "training FLOPs (log scale)" in texts and {"1e18", "1e20", "1e22"} <= set(texts)


def test_points_without_a_usable_scale_or_value_are_left_out_and_none_says_so():
    pts = _points([0.1, np.nan, 0.5, 0.7], scales=(1e6, 1e7, 0.0, 1e9))
    root = _parse(panel_svg(Panel([("acc", pts)], None, "params"), ""))
    assert len([c for c in root.iter(SVG + "circle")]) == 2
    none = _points([0.1, 0.2], scales=(np.nan, np.nan))
    root = _parse(panel_svg(Panel([("acc", none)], None, "params"), ""))
    assert "no scale" in [t.text for t in root.iter(SVG + "text")]


def test_a_flat_curve_still_gets_an_axis():
    root = _parse(panel_svg(Panel([("acc", _points([0.5, 0.5, 0.5]))], None, "params"), ""))
    ys = {float(c.get("cy")) for c in root.iter(SVG + "circle")}
    assert len(ys) == 1 and all(math.isfinite(y) for y in ys)
    assert all(re.fullmatch(r"-?\d+\.\d", v) for el in root.iter() for k, v in el.attrib.items()
               if k in ("cx", "cy", "x1", "y1"))


@settings(max_examples=200, deadline=None)
@given(st.floats(-1e6, 1e6), st.floats(1e-6, 1e6))
def test_nice_ticks_are_round_and_inside_the_range(lo, span):
    assume(span > 1e-6 * abs(lo))  # a range that float64 resolves to six digits
    hi = lo + span
    ticks = nice_ticks(lo, hi)
    assert 2 <= len(ticks) <= 11
    assert all(lo - span * 1e-6 <= t <= hi + span * 1e-6 for t in ticks)
    steps = np.diff(ticks)
    assert np.allclose(steps, steps[0], rtol=1e-6)
    mantissa = steps[0] / 10 ** math.floor(math.log10(steps[0]))
    assert any(math.isclose(mantissa, m, rel_tol=1e-4) for m in (1, 2, 2.5, 5, 10))


def test_decade_labels():
    assert [decade_label(10.0 ** k) for k in (-3, 0, 8, 12)] == ["1e-3", "1e0", "1e8", "1e12"]

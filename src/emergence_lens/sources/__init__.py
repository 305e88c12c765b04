"""Sources: lm-evaluation-harness results and samples, BIG-bench score files, generic tables."""

from emergence_lens.sources.issues import IssueLog, SourceIssue
from emergence_lens.sources.load import SourceBundle, load_sources
from emergence_lens.sources.scale import infer_family, load_scale_map, parse_scale

__all__ = ["load_sources", "SourceBundle", "SourceIssue", "IssueLog", "parse_scale", "infer_family",
           "load_scale_map"]

"""Sources: lm-evaluation-harness results and samples, BIG-bench score files, tidy and wide tables,
recognised by content; model sizes from files, checkpoints, names, metadata and a catalogue."""

from emergence_lens.sources.catalogue import CatalogueEntry
from emergence_lens.sources.issues import IssueLog, SourceIssue
from emergence_lens.sources.load import INPUT_COLUMNS, MODEL_COLUMNS, SourceBundle, load_sources
from emergence_lens.sources.model_names import lookup_model
from emergence_lens.sources.sample_size import fill_sample_sizes, parse_n_examples
from emergence_lens.sources.scale import infer_family, load_scale_map, parse_scale
from emergence_lens.sources.sniff import sniff
from emergence_lens.sources.tables import WideSpec, read_metadata, split_column

__all__ = ["load_sources", "SourceBundle", "SourceIssue", "IssueLog", "parse_scale", "infer_family",
           "load_scale_map", "lookup_model", "CatalogueEntry", "sniff", "WideSpec", "read_metadata", "split_column",
           "INPUT_COLUMNS", "MODEL_COLUMNS", "fill_sample_sizes", "parse_n_examples"]

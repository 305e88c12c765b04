from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from emergence_lens.records import (
    RECORD_SCHEMA,
    RecordsError,
    read_records,
    records_from_rows,
    validate_records,
    write_records,
)
from tests.conftest import make_records


def test_roundtrip_parquet_keeps_every_row_and_extra_columns(tmp_path, records_df):
    df = records_df.assign(n_shots=2)
    path = write_records(df, tmp_path / "r.parquet")
    back = read_records(path)
    assert len(back) == len(df)
    assert list(back.columns[: len(RECORD_SCHEMA)]) == RECORD_SCHEMA.names
    assert (back["n_shots"] == 2).all()
    assert list(back["target_token_logprobs"].iloc[0]) == pytest.approx([-0.4, -0.2])
    assert back["correct_choice"].dtype == "Int64"
    assert not list(tmp_path.glob(".*tmp")), "temporary file left behind"


def test_schema_types():
    assert RECORD_SCHEMA.field("scale_params").type == pa.float64()
    assert RECORD_SCHEMA.field("choice_logprobs").type == pa.list_(pa.float64())
    assert not RECORD_SCHEMA.field("family").nullable
    assert RECORD_SCHEMA.field("scale_flops").nullable


def test_missing_nullable_columns_are_added_as_nulls(records_df):
    df = records_df.drop(columns=["choice_logprobs", "correct_choice", "scale_flops"])
    table = validate_records(df)
    assert table.column("choice_logprobs").null_count == len(df)


def _err(df, source="f.parquet") -> RecordsError:
    with pytest.raises(RecordsError) as info:
        validate_records(df, source=source)
    return info.value


def test_missing_required_column_names_the_column(records_df):
    e = _err(records_df.drop(columns=["task"]))
    assert e.column == "task" and "f.parquet" in str(e)


def test_uncastable_value_names_row_and_column(records_df):
    df = records_df.astype({"scale_params": object})
    df.loc[7, "scale_params"] = "big"
    e = _err(df)
    assert (e.row, e.column) == (7, "scale_params")


@pytest.mark.parametrize("value", [-0.1, np.inf])
def test_bad_reconstruction_error_names_row(records_df, value):
    df = records_df.assign(reconstruction_mse=0.5)
    df.loc[4, "reconstruction_mse"] = value
    e = _err(df)
    assert (e.row, e.column) == (4, "reconstruction_mse") and "finite and >= 0" in str(e)


def test_nan_reconstruction_error_is_missing_and_scoring_names_it(records_df):
    from emergence_lens.metrics import get_metric

    df = records_df.assign(reconstruction_mse=0.5)
    df.loc[4, "reconstruction_mse"] = np.nan  # pandas NaN = not measured (null), kept, never dropped
    back = validate_records(df).to_pandas()
    assert len(back) == len(df) and back["reconstruction_mse"].isna().sum() == 1
    with pytest.raises(ValueError, match="'reconstruction_mse', which is null at row 4"):
        get_metric("mse").score_records(back)


@pytest.mark.parametrize("column,value", [("scale_params", 0.0), ("scale_params", np.nan),
                                          ("scale_flops", -1.0), ("scale_params", np.inf)])
def test_bad_scales(records_df, column, value):
    df = records_df.copy()
    df[column] = df[column].astype(float)
    df.loc[3, column] = value
    if column == "scale_params":
        df.loc[df["model"] == df.loc[3, "model"], column] = value
    e = _err(df)
    assert e.column == column and e.row == 3 - (3 % 5 if column == "scale_params" else 0)


def test_null_in_required_column(records_df):
    df = records_df.copy()
    df.loc[4, "example_id"] = None
    e = _err(df)
    assert (e.row, e.column) == (4, "example_id")


def test_nan_and_positive_logprobs_are_rejected_with_row(records_df):
    df = records_df.copy()
    df.at[6, "target_token_logprobs"] = [-0.1, float("nan")]
    e = _err(df)
    assert (e.row, e.column) == (6, "target_token_logprobs")
    df = records_df.copy()
    df.at[9, "choice_logprobs"] = [-1.0, 0.5, -2.0]
    e = _err(df)
    assert (e.row, e.column) == (9, "choice_logprobs")


def test_minus_inf_logprob_is_allowed(records_df):
    df = records_df.copy()
    df.at[0, "target_token_logprobs"] = [-np.inf, -0.1]
    validate_records(df)


def test_correct_choice_out_of_range_and_mismatch(records_df):
    df = records_df.copy()
    df.loc[2, "correct_choice"] = 3
    e = _err(df)
    assert (e.row, e.column) == (2, "correct_choice")
    df = records_df.copy().astype({"correct_choice": object})
    df.loc[5, "correct_choice"] = None
    e = _err(df)
    assert e.row == 5 and e.column == "choice_logprobs"


def test_empty_choice_list(records_df):
    df = records_df.copy()
    df.at[1, "choice_logprobs"] = []
    assert _err(df).row == 1


def test_duplicate_records_name_both_rows(records_df):
    df = pd.concat([records_df, records_df.iloc[[3]]], ignore_index=True)
    e = _err(df)
    assert e.row == 3 and f"row {len(df) - 1}" in str(e)


def test_one_scale_per_model(records_df):
    df = records_df.copy()
    df.loc[1, "scale_params"] = 5.0
    e = _err(df)
    assert e.column == "scale_params" and e.row == 1


def test_read_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_records(tmp_path / "nope.parquet")


def test_read_corrupt_parquet(tmp_path):
    p = tmp_path / "bad.parquet"
    p.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(RecordsError, match="bad.parquet"):
        read_records(p)


def test_invalid_parquet_file_names_file_row_column(tmp_path, records_df):
    df = records_df.copy()
    df.loc[8, "scale_params"] = -3.0
    p = tmp_path / "x.parquet"
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), p)
    with pytest.raises(RecordsError) as info:
        read_records(p)
    assert str(p) in str(info.value) and info.value.column == "scale_params"


def test_write_refuses_invalid_and_leaves_no_file(tmp_path, records_df):
    df = records_df.drop(columns=["model"])
    with pytest.raises(RecordsError):
        write_records(df, tmp_path / "r.parquet")
    assert list(tmp_path.iterdir()) == []


def test_jsonl_reading_and_bad_line(tmp_path, records_df):
    p = tmp_path / "r.jsonl"
    rows = records_df.head(3).to_dict(orient="records")
    lines = [json.dumps({k: (v if not isinstance(v, float) or not np.isnan(v) else None)
                         for k, v in r.items()}) for r in rows]
    p.write_text("\n".join(lines) + "\n")
    assert len(read_records(p)) == 3
    p.write_text(lines[0] + "\n{not json\n")
    with pytest.raises(RecordsError, match="line 2"):
        read_records(p)
    p.write_text(lines[0] + '\n{"family": "f", "scale_params": "huge"}\n')
    with pytest.raises(RecordsError) as info:
        read_records(p)
    assert (info.value.row, info.value.column) == (1, "scale_params")


def test_records_from_rows():
    df = records_from_rows(make_records(2, 2).to_dict(orient="records"))
    assert len(df) == 4


def test_codes_of_a_one_value_column_are_its_dictionarys():
    """A text column of one value on every row (a file's family, model, task) is coded without a
    dictionary: the same codes and count as dictionary encoding gives, chunked or not."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from emergence_lens.records.io import _codes

    def by_dictionary(col):
        enc = pc.dictionary_encode(col)
        chunks = enc.chunks if isinstance(enc, pa.ChunkedArray) else [enc]
        size = len(chunks[0].dictionary)
        codes = [np.where(c.indices.is_null().to_numpy(zero_copy_only=False), size,
                          c.indices.fill_null(0).to_numpy()).astype(np.int64) for c in chunks]
        return np.concatenate(codes), size + 1

    for col in (pa.chunked_array([["a", "a"], [], ["a"]]), pa.array(["é"] * 5), pa.array(["x"] * 3, pa.large_string()),
                pa.array(["x", "y", "x"]), pa.array(["x", None, "x"]), pa.array(["", ""]), pa.array(["a", "a\x00"])):
        got, want = _codes(col), by_dictionary(col)
        assert np.array_equal(got[0], want[0]) and got[1] == want[1], col

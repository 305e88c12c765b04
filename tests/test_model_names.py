"""Model names as published: hub cache paths, revisions, suffixes, fine-tunes; metadata tables found
by content; one issue per cause (issue 23)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from emergence_lens.sources import load_sources
from emergence_lens.sources.model_names import is_size_token, parse_model_name, resolve_catalogue


@pytest.mark.parametrize("raw, core, base_model, family", [
    ("models--llama/7B", "llama-7B", "llama-7b", "llama"),
    ("models--llama/30B", "llama-30B", "llama-30b", "llama"),
    ("/root/.cache/huggingface/hub/models--EleutherAI--pythia-1.4b/snapshots/0123abc", "pythia-1.4b", "pythia-1.4b",
     "pythia"),
    ("EleutherAI/pythia-v1.1-1.4b-deduped@step143000", "pythia-1.4b-deduped", "pythia-1.4b", "pythia-deduped"),
    ("EleutherAI/pythia-410m@step143000", "pythia-410m", "pythia-410m", "pythia"),
    ("gpt2-xl-alpaca", "gpt2-xl-alpaca", "gpt2-xl", "gpt2-alpaca"),
    ("TheBloke/Llama-2-7B-GGUF", "Llama-2-7B", "llama-2-7b", "llama-2"),
    ("meta-llama/Llama-2-13b-chat-hf", "Llama-2-13b-chat", "llama-2-13b", "llama-2-chat"),
    ("mistralai/Mistral-7B-v0.1-GGUF", "Mistral-7B", "mistral-7b-v0.1", "mistral"),
    ("facebook/opt-1.3b-bf16", "opt-1.3b", "opt-1.3b", "opt"),
    ("TheBloke/falcon-7b-instruct-GPTQ", "falcon-7b-instruct", "falcon-7b", "falcon-instruct"),
])
def test_published_names_resolve_to_their_catalogue_base_and_family(raw, core, base_model, family):
    parsed = parse_model_name(raw)
    assert parsed.core == core
    match = resolve_catalogue(parsed)
    assert match is not None and match.entry.model == base_model and match.family == family


def test_unknown_names_are_left_alone_and_sizes_are_recognised():
    assert resolve_catalogue(parse_model_name("Qwen/Qwen2.5-7B-Instruct")) is None
    assert resolve_catalogue(parse_model_name("my-own-model")) is None
    assert is_size_token("7B") and is_size_token("1.4b") and not is_size_token("llama-7b")
    assert parse_model_name("x/y@main").revision == "main"


def _results(path: Path, model: str, task: str, acc: float, se: float = 0.01) -> None:
    path.mkdir(parents=True, exist_ok=True)
    (path / "results.json").write_text(json.dumps({
        "results": {task: {"acc": acc, "acc_stderr": se}},
        "config": {"model": "hf-causal", "model_args": f"pretrained={model}", "num_fewshot": 0}}))


def test_hub_cache_names_form_their_real_family_with_flops(tmp_path: Path):
    # a per-run CSV with models named by their cache path: one family, not three named "7B", "13B", "30B"
    rows = [{"model": f"models--llama/{s}", "task": f"t{t}", "metric": "acc", "value": v + 0.05 * t}
            for t in range(2) for s, v in (("7B", 0.3), ("13B", 0.4), ("30B", 0.5))]
    pd.DataFrame(rows).to_csv(tmp_path / "runs.csv", index=False)
    b = load_sources([tmp_path])
    m = b.models.set_index("model")
    assert set(m["family"]) == {"llama"}
    assert m.loc["models--llama/13B", "scale_params"] == 13e9
    assert "hub cache path" in m.loc["models--llama/13B", "size_source"]
    assert m["scale_flops"].notna().all()  # tokens from the catalogue (LLaMA: 1.0-1.4T)
    assert not any(is_size_token(f) for f in b.curves["family"])


def test_fine_tune_takes_its_base_size_and_keeps_its_own_family(tmp_path: Path):
    pd.DataFrame([{"model": m, "task": "t", "metric": "acc", "value": v}
                  for m, v in (("gpt2-alpaca", 0.2), ("gpt2-medium-alpaca", 0.3), ("gpt2-large-alpaca", 0.35),
                               ("gpt2-xl-alpaca", 0.4))]).to_csv(tmp_path / "ft.csv", index=False)
    m = load_sources([tmp_path]).models.set_index("model")
    assert m.loc["gpt2-xl-alpaca", "family"] == "gpt2-alpaca"
    assert m.loc["gpt2-xl-alpaca", "scale_params"] > 1.5e9
    assert "base gpt2-xl" in m.loc["gpt2-xl-alpaca", "size_source"]


def test_pythia_revisions_get_flops_and_audit_on_flops_works(tmp_path: Path):
    from typer.testing import CliRunner

    from emergence_lens.cli import app

    for size, acc in (("70m", 0.2), ("410m", 0.3), ("1.4b", 0.45), ("12b", 0.7)):
        _results(tmp_path / "in" / size, f"EleutherAI/pythia-v1.1-{size}-deduped@step143000", "lambada_openai", acc)
    r = CliRunner().invoke(app, ["audit", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--x", "flops"])
    assert r.exit_code == 0, r.output
    models = pd.read_csv(tmp_path / "out" / "models.csv")
    assert models["scale_flops"].notna().all() and set(models["family"]) == {"pythia-deduped"}
    audit = pd.read_csv(tmp_path / "out" / "audit.csv")
    assert audit["n_scales"].eq(4).all() and audit["emergence_score"].notna().all()


def test_a_metadata_table_beside_results_is_read_for_sizes_not_as_results(tmp_path: Path):
    for name, acc in (("alpha-a", 0.2), ("alpha-b", 0.3), ("alpha-c", 0.5)):
        _results(tmp_path / name, f"org/{name}", "arc_easy", acc)
    (tmp_path / "model_info.csv").write_text("model_dir_name,n_params,notes\nalpha-a,1e8,x\nalpha-b,1e9,y\n"
                                             "alpha-c,1e10,z\n,5,empty name\n")
    b = load_sources([tmp_path])
    inputs = b.inputs.set_index("file")
    meta = inputs.loc[str(tmp_path / "model_info.csv")]
    assert meta["format"] == "metadata" and meta["rows_read"] == 4 and meta["rows_loaded"] == 3
    assert meta["rows_reported"] == 1  # the row without a name, reported, not dropped silently
    assert set(b.curves["task"]) == {"arc_easy"}  # nothing of the metadata became a curve
    assert sorted(b.models["scale_params"]) == [1e8, 1e9, 1e10]
    assert set(b.models["size_source"]) == {"metadata table"}


def test_many_results_files_in_one_folder_without_samples_say_nothing(tmp_path: Path):
    d = tmp_path / "flat"
    d.mkdir()
    for i, size in enumerate(("70m", "160m", "410m", "1b", "1.4b")):
        (d / f"pythia-{size}.json").write_text(json.dumps({
            "results": {"arc_easy": {"acc": 0.3 + 0.05 * i, "acc_stderr": 0.01}},
            "config": {"model_args": f"pretrained=EleutherAI/pythia-{size}"}}))
    b = load_sources([d])
    assert not [i for i in b.issues if "samples" in str(i)]
    # with one samples file there, exactly one issue says where its samples go
    genuine = next((Path(__file__).parent / "data" / "lmeval" / "ladder-01").glob("samples_*_mc_*.jsonl"))
    (d / "samples_arc_easy_2024-01-01T00-00-00.jsonl").write_text(genuine.read_text().splitlines()[0] + "\n")
    b2 = load_sources([d])
    said = [i for i in b2.issues if "attributed to the latest" in str(i)]
    assert len(said) == 1 and "5 models" in str(said[0])


def test_lmeval_samples_as_parquet_audit_like_the_json_lines(tmp_path: Path):
    """The hub "details" layout: the same samples as Parquet give the same verdicts, byte for byte."""
    import shutil

    from typer.testing import CliRunner

    from emergence_lens.cli import app
    from tests._parquet import jsonl_to_parquet

    src = Path(__file__).parent / "data" / "lmeval"
    for d in sorted(p for p in src.iterdir() if p.is_dir()):
        (tmp_path / "pq" / "lmeval" / d.name).mkdir(parents=True)
        for f in d.iterdir():
            if f.suffix == ".jsonl":
                jsonl_to_parquet(f, tmp_path / "pq" / "lmeval" / d.name / (f.stem + ".parquet"))
            else:
                shutil.copy(f, tmp_path / "pq" / "lmeval" / d.name / f.name)
    runner = CliRunner()
    for name, path in (("json", src), ("parquet", tmp_path / "pq" / "lmeval")):
        r = runner.invoke(app, ["audit", str(path), "--out", str(tmp_path / name), "--n-boot", "200"])
        assert r.exit_code == 0, r.output
    inputs = pd.read_csv(tmp_path / "parquet" / "inputs.csv")
    assert (inputs[inputs.file.str.endswith(".parquet")]["format"] == "lmeval_samples").all()
    assert (tmp_path / "json" / "verdicts.csv").read_bytes() == (tmp_path / "parquet" / "verdicts.csv").read_bytes()
    assert (tmp_path / "json" / "rescored_curves.csv").read_bytes() == \
        (tmp_path / "parquet" / "rescored_curves.csv").read_bytes()

"""The CPU ladder, the transformers and OpenAI-compatible back-ends, evaluation and resume."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from emergence_lens.metrics import exact_match, token_edit_distance  # noqa: E402
from emergence_lens.models.backends import BackendError, make_backend  # noqa: E402
from emergence_lens.models.backends.hf import HFBackend  # noqa: E402
from emergence_lens.models.data import IGNORE, training_batch  # noqa: E402
from emergence_lens.models.evaluate import evaluate_examples, evaluate_to_dir  # noqa: E402
from emergence_lens.models.ladder import (  # noqa: E402
    LadderRecipe,
    ModelSize,
    TrainingInterrupted,
    train_ladder,
    train_model,
)
from emergence_lens.tasks import TaskExample, generate_arithmetic  # noqa: E402

TINY = LadderRecipe(steps=12, batch_size=8, ckpt_every=4, warmup=2, n_positions=192)  # room for GPT-3 prompts
SIZES = (ModelSize("ladder-01", 1, 16, 1), ModelSize("ladder-02", 1, 24, 2))


@pytest.fixture(scope="module")
def ladder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ladder")
    train_ladder(out, SIZES, TINY, show_progress=False, isolated=False)
    return out


def test_training_batches_are_deterministic_masked_and_never_held_out():
    a = training_batch(5, 64, 20, seed=1)
    b = training_batch(5, 64, 20, seed=1)
    assert np.array_equal(a.input_ids, b.input_ids) and np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.input_ids, training_batch(6, 64, 20, seed=1).input_ids)
    from emergence_lens.models.data import PAD_ID, _VOCAB
    from emergence_lens.tasks.arithmetic import is_heldout

    inv = {v: k for k, v in _VOCAB.items()}
    # loss only on answer digits and the newline that ends each answer
    chars = {inv[int(t)] for t in a.labels.ravel() if t != IGNORE}
    assert chars <= set("0123456789\n")
    seen_ops = set()
    for r in range(64):
        row = "".join(inv[int(t)] for t in a.input_ids[r] if t != PAD_ID)
        question, answer = row.split("=")
        op = "plus" if "+" in question else "times"
        x, y = (int(v) for v in question.replace("*", "+").split("+"))
        seen_ops.add(op)
        assert not is_heldout(x, y, op), row  # no evaluation problem is ever trained on
        assert answer == str(x + y if op == "plus" else x * y)
        # the labels are the answer and its newline, shifted by one
        lab = "".join(inv[int(t)] for t in a.labels[r] if t != IGNORE)
        assert lab == str(x + y if op == "plus" else x * y) + "\n"
    assert seen_ops == {"plus", "times"}
    # as wide as the longest row, no wider
    assert (a.input_ids != PAD_ID).any(axis=0).all()
    with pytest.raises(ValueError, match="too short"):
        training_batch(0, 64, 8)


def _tensors(path: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(path / "model.safetensors"))


def test_resume_after_interruption_gives_the_same_model(tmp_path):
    size = SIZES[0]
    straight = train_model(size, TINY, tmp_path / "a")
    with pytest.raises(TrainingInterrupted):
        train_model(size, TINY, tmp_path / "b", stop_after=9)
    assert (tmp_path / "b" / "checkpoint" / "train_state.pt").exists()
    assert not (tmp_path / "b" / "ladder.json").exists()
    resumed = train_model(size, TINY, tmp_path / "b")
    ta, tb = _tensors(tmp_path / "a"), _tensors(tmp_path / "b")
    assert ta.keys() == tb.keys()
    for k in ta:
        np.testing.assert_array_equal(ta[k], tb[k], err_msg=k)  # same bytes, not merely close
    assert resumed["non_embedding_params"] == straight["non_embedding_params"]
    assert not (tmp_path / "b" / "checkpoint").exists()
    # a finished model is not retrained
    again = train_model(size, TINY, tmp_path / "b")
    assert again == resumed


def test_ladder_spans_sizes_and_loads_with_transformers_offline(ladder, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    for size in SIZES:
        d = ladder / size.name
        assert {"config.json", "model.safetensors", "tokenizer.json", "ladder.json"} <= {p.name for p in d.iterdir()}
        model = AutoModelForCausalLM.from_pretrained(d, local_files_only=True)
        tok = AutoTokenizer.from_pretrained(d, local_files_only=True)
        assert tok.decode(tok("Q: 12?")["input_ids"]) == "Q: 12?"
        assert model.config.n_embd == size.d_model


def test_default_ladder_spans_100x():
    from transformers import GPT2LMHeadModel

    from emergence_lens.models.ladder import DEFAULT_SIZES, _config, non_embedding_params

    counts = [non_embedding_params(GPT2LMHeadModel(_config(s, LadderRecipe(), 99))) for s in DEFAULT_SIZES]
    assert len(counts) >= 8 and counts == sorted(counts) and counts[-1] / counts[0] >= 100


def test_hf_backend_generation_and_scores_agree(ladder):
    be = HFBackend(ladder / "ladder-02", device="cpu", batch_size=3)
    ex = generate_arithmetic("plus", 2, 7, seed=0)
    prompts = [e.prompt + " " for e in ex]
    gen = be.generate(prompts, 4, ["\n"])
    assert gen == be.generate(prompts, 4, ["\n"])  # deterministic
    assert gen == HFBackend(ladder / "ladder-02", device="cpu", batch_size=50).generate(prompts, 4, ["\n"])
    assert all("\n" not in g for g in gen)
    lp = be.target_logprobs(prompts, [e.target for e in ex])
    assert [len(v) for v in lp] == [len(e.target) for e in ex]
    assert all(x <= 0 for v in lp for x in v)
    # greedy: the first generated token is at least as likely as the target's first token
    for p, g, e in zip(prompts, gen, ex, strict=True):
        if g:
            first_greedy = be.target_logprobs([p], [g[0]])[0][0]
            assert first_greedy >= be.target_logprobs([p], [e.target[0]])[0][0] - 1e-6
    ch = be.choice_logprobs(prompts[:2], [["1", "12"], ["7"]])
    assert ch[0][1] == pytest.approx(sum(be.target_logprobs([prompts[0]], ["12"])[0]))


def test_hf_backend_clear_error_for_unavailable_hub_model(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BackendError, match="network"):
        HFBackend("no-such-org/no-such-model-xyz")


def test_vllm_backend_missing_is_a_clear_error():
    try:
        import vllm  # noqa: F401
    except ImportError:
        with pytest.raises(BackendError, match="pip install"):
            make_backend("vllm", "x")
    with pytest.raises(ValueError, match="unknown backend"):
        make_backend("tgi", "x")


def test_openai_backend_against_loopback_server(ladder):
    pytest.importorskip("openai")
    from emergence_lens.models.backends.openai_api import OpenAIBackend
    from emergence_lens.models.openai_server import serve_in_thread

    server, url = serve_in_thread(ladder / "ladder-02")
    try:
        assert url.startswith("http://127.0.0.1:")
        api = OpenAIBackend("ladder-02", base_url=url, batch_size=4)
        hf = HFBackend(ladder / "ladder-02", device="cpu")
        ex = generate_arithmetic("times", 1, 6, seed=2)
        prompts = [e.prompt + " " for e in ex]
        assert api.generate(prompts, 3, ["\n"]) == hf.generate(prompts, 3, ["\n"])
        a = api.target_logprobs(prompts, [e.target for e in ex])
        b = hf.target_logprobs(prompts, [e.target for e in ex])
        np.testing.assert_allclose(np.concatenate(a), np.concatenate(b), atol=1e-5)
        recs = evaluate_examples(api, ex, family="f", model="m", scale_params=1.0)
        assert len(recs) == 6
        with pytest.raises(BackendError):
            OpenAIBackend("ladder-02", base_url=url.replace("/v1", "/nope"), max_retries=0).generate(["x"], 1)
    finally:
        server.shutdown()


class FakeBackend:
    """Returns empty completions; counts calls; can fail on a given call."""

    name = "fake"

    def __init__(self, fail_on: int | None = None) -> None:
        self.calls = 0
        self.fail_on = fail_on

    def generate(self, prompts, max_new_tokens, stop=()):
        self.calls += 1
        if self.fail_on is not None and self.calls == self.fail_on:
            raise RuntimeError("killed")
        return ["" for _ in prompts]

    def target_logprobs(self, prompts, targets):
        return [[-1.0] * len(t) for t in targets]

    def choice_logprobs(self, prompts, choices):
        return [[-1.0 * (i + 1) for i in range(len(c))] for c in choices]


def test_empty_completions_are_scored_not_dropped():
    ex = generate_arithmetic("plus", 2, 5, seed=0) + [TaskExample("mc", "0", "pick", "b", ("a", "b"), 1)]
    df = evaluate_examples(FakeBackend(), ex, family="f", model="m", scale_params=10.0)
    assert len(df) == 6 and (df.prediction == "").all()
    assert exact_match(df.target, df.prediction).sum() == 0
    assert token_edit_distance(df.target, df.prediction).tolist() == [len(t) for t in df.target]
    assert df.correct_choice.iloc[-1] == 1 and list(df.choice_logprobs.iloc[-1]) == [-1.0, -2.0]


def test_interrupted_evaluation_resumes(tmp_path):
    ex = generate_arithmetic("plus", 2, 10, seed=0)
    with pytest.raises(RuntimeError, match="killed"):
        evaluate_to_dir(FakeBackend(fail_on=2), ex, tmp_path, family="f", model="m", scale_params=1.0, chunk_size=4)
    assert len(list((tmp_path / "parts").glob("*.parquet"))) == 1
    be = FakeBackend()
    df = evaluate_to_dir(be, ex, tmp_path, family="f", model="m", scale_params=1.0, chunk_size=4)
    assert be.calls == 2  # only the two missing chunks
    assert list(df.example_id) == [e.example_id for e in ex]
    assert (tmp_path / "records.parquet").exists()


def test_evaluate_cli_on_gpt3_file(ladder, tmp_path):
    from typer.testing import CliRunner

    from emergence_lens.cli import app
    from tests.conftest import SHARED

    src = SHARED / "gpt3-arithmetic" / "two_digit_multiplication.jsonl"
    if not src.exists():
        src = tmp_path / "t.jsonl"
        src.write_text('{"context": "\\n\\nQ: What is 2 times 3?\\n\\nA:", "completion": " 6"}\n' * 3)
    res = CliRunner().invoke(app, ["evaluate", "--model", str(ladder / "ladder-01"), "--task", str(src),
                                   "--out", str(tmp_path / "ev"), "--n", "20", "--family", "ladder"])
    assert res.exit_code == 0, res.output
    df = pd.read_parquet(tmp_path / "ev" / "records.parquet")
    assert len(df) == (20 if "shared" in str(src) else 3)
    assert df.scale_params.iloc[0] > 0
    res = CliRunner().invoke(app, ["evaluate", "--model", str(ladder / "ladder-01"), "--task", "missing.jsonl",
                                   "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "not found" in res.output


class _CoinBackend:
    """Answers right with probability ``p`` per sample (seeded per call), greedy always wrong."""

    name = "coin"

    def __init__(self, p: float) -> None:
        self.p = p
        self.calls = 0

    def generate(self, prompts, max_new_tokens, stop=()):
        return ["x"] * len(prompts)

    def sample(self, prompts, max_new_tokens, stop=(), *, temperature=1.0, seed=0):
        self.calls += 1
        rng = np.random.default_rng(seed)
        return [" 42 " if u < self.p else "41" for u in rng.random(len(prompts))]

    def target_logprobs(self, prompts, targets):
        return [[-1.0] * len(t) for t in targets]

    def choice_logprobs(self, prompts, choices):
        return [[-1.0] * len(c) for c in choices]


def test_sample_until_pass_counts_follow_inverse_sampling_and_resolve_a_tiny_rate():
    from emergence_lens.emergence import pass_rate_table
    from emergence_lens.models.sampling import sample_until_pass

    p = 0.004  # greedy exact match reads 0 on these 300 problems
    ex = [TaskExample("t", f"e{i}", f"Q{i}", "42") for i in range(300)]
    be = _CoinBackend(p)
    a, s = sample_until_pass(be, [e.prompt for e in ex], [e.target for e in ex], k=3, max_samples=3000,
                             temperature=1.0, seed=5, per_round=64)
    assert ((s == 3) | (a == 3000)).all() and (s <= 3).all() and (a <= 3000).all()
    again = sample_until_pass(_CoinBackend(p), [e.prompt for e in ex], [e.target for e in ex], k=3,
                              max_samples=3000, temperature=1.0, seed=5, per_round=64)
    assert np.array_equal(a, again[0]) and np.array_equal(s, again[1])  # same seed, same counts

    df = evaluate_examples(be, ex, family="f", model="m", scale_params=1.0, sample_until_pass=3, max_samples=3000,
                           sample_seed=5)
    assert df["attempts"].dtype == "Int64" and (df["pass_k"] == 3).all()
    table = pass_rate_table(df)
    row = table.iloc[0]
    assert row.greedy_exact_match == 0 and row.pass_rate > 0 and row.pass_rate_low > 0
    assert row.pass_rate_low <= p <= row.pass_rate_high
    assert row.pass_rate == pytest.approx(p, rel=0.25)


def test_sample_until_pass_needs_a_sampling_backend_and_a_temperature():
    from emergence_lens.models.sampling import sample_until_pass

    class Greedy:
        name = "greedy"

    with pytest.raises(ValueError, match="cannot sample"):
        sample_until_pass(Greedy(), ["q"], ["a"], k=1, max_samples=5)
    with pytest.raises(ValueError, match="temperature > 0"):
        sample_until_pass(_CoinBackend(0.5), ["q"], ["a"], k=1, max_samples=5, temperature=0)


def test_hf_sampling_is_seeded_and_evaluate_cli_records_pass_counts(ladder, tmp_path):
    from typer.testing import CliRunner

    from emergence_lens.cli import app

    be = HFBackend(ladder / "ladder-02", device="cpu")
    prompts = [e.prompt + " " for e in generate_arithmetic("plus", 1, 6, seed=3, k_shot=1)]
    a = be.sample(prompts, 3, ["\n"], temperature=1.5, seed=11)
    assert a == be.sample(prompts, 3, ["\n"], temperature=1.5, seed=11)
    assert a != be.sample(prompts, 3, ["\n"], temperature=1.5, seed=12) or len(set(a)) == 1
    res = CliRunner().invoke(app, ["evaluate", "--model", str(ladder / "ladder-02"), "--task", "generate:plus:1",
                                   "--n", "8", "--out", str(tmp_path / "ev"), "--family", "ladder",
                                   "--sample-until-pass", "2", "--max-samples", "40", "--temperature", "1.2"])
    assert res.exit_code == 0, res.output
    df = pd.read_parquet(tmp_path / "ev" / "records.parquet")
    assert (df["attempts"] >= 1).all() and (df["attempts"] <= 40).all()
    assert ((df["passes"] == 2) | (df["attempts"] == 40)).all()


def test_batched_greedy_matches_a_one_prompt_loop_with_stop_strings(ladder):
    """The batched decoder (KV cache, stop checked on token ids for one-character stops, on decoded
    tails for longer ones) gives what a plain loop gives: one prompt, full forward each step."""
    be = HFBackend(ladder / "ladder-02", device="cpu", batch_size=4)
    prompts = [e.prompt for e in generate_arithmetic("plus", 2, 6, seed=3, k_shot=0, format="compact")]

    def reference(prompt: str, budget: int, stop: list[str]) -> str:
        ids = be._encode(prompt)
        out: list[int] = []
        with torch.no_grad():
            for _ in range(budget):
                nxt = int(be.model(input_ids=torch.tensor([ids + out])).logits[0, -1].argmax())
                if nxt == be.eos_id:
                    break
                out.append(nxt)
                if any(s in be.tokenizer.decode(out) for s in stop):
                    break
        text = be.tokenizer.decode(out)
        cuts = [text.find(s) for s in stop if s in text]
        return text[: min(cuts)] if cuts else text

    for stop in (["\n"], ["5"], ["12", "\n"], []):
        assert be.generate(prompts, 6, stop) == [reference(p, 6, stop) for p in prompts], stop
    assert set(be._ids_containing("\n")) == {be._encode("\n")[0]}


def test_hf_generation_uses_the_current_cache_api_without_warnings():
    """Greedy and sampled generation run under ``python -W error::FutureWarning``: the KV cache goes
    in and out under the name the installed transformers' forward takes (``cache`` in 5.x, where
    ``past_key_values`` warns and goes away in 5.40; ``past_key_values`` before)."""
    import inspect
    import subprocess
    import sys

    from transformers import GPT2LMHeadModel

    from emergence_lens.models.backends.hf import cache_keyword
    from emergence_lens.models.ladder import shipped_ladder

    params = inspect.signature(GPT2LMHeadModel.forward).parameters
    assert cache_keyword(GPT2LMHeadModel.__new__(GPT2LMHeadModel)) in params
    code = ("import sys\n"
            "from emergence_lens.models.backends.hf import HFBackend\n"
            "be = HFBackend(sys.argv[1], device='cpu')\n"
            "print(be.generate(['12+34=', '7+5='], 4, ['\\n']))\n"
            "print(len(be.sample(['12+34='], 4, ['\\n'], temperature=1.0, seed=1)))\n")
    res = subprocess.run([sys.executable, "-W", "error::FutureWarning", "-W", "error::DeprecationWarning:transformers",
                          "-c", code, str(shipped_ladder() / "ladder-08")], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[0] == "['46', '12']" and "Warning" not in res.stderr


def test_a_tokenizer_saved_by_transformers_5_loads_where_its_class_name_is_unknown(monkeypatch):
    """transformers 4.x does not know 5.x's ``TokenizersBackend`` (the name the shipped ladder's
    ``tokenizer_config.json`` carries); the backend then reads the same ``tokenizer.json`` as a
    ``PreTrainedTokenizerFast`` and encodes exactly as before. Other errors still propagate."""
    import transformers
    from transformers import AutoTokenizer

    from emergence_lens.models.backends.hf import load_tokenizer
    from emergence_lens.models.ladder import shipped_ladder

    path = shipped_ladder() / "ladder-08"
    want = AutoTokenizer.from_pretrained(str(path))("12+34=")["input_ids"]

    def unknown(*args, **kwargs):
        raise ValueError("Tokenizer class TokenizersBackend does not exist or is not currently imported.")

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", unknown)
    tok = load_tokenizer(path, local_files_only=True)
    assert isinstance(tok, transformers.PreTrainedTokenizerFast)
    assert tok("12+34=")["input_ids"] == want and tok.eos_token == "<eos>" and tok.pad_token == "<pad>"

    def other(*args, **kwargs):
        raise ValueError("something else")

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", other)
    with pytest.raises(ValueError, match="something else"):
        load_tokenizer(path, local_files_only=True)

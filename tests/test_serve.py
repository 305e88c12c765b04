"""``serve`` as the field's clients use it, and against hostile ones (127.0.0.1 only, bounded loops).

* The openai client: completions with ``echo`` and ``logprobs: k`` (``top_logprobs`` filled, the
  log-probs equal to the model's own teacher-forced ones), usage counts, chat completions, models.
* Every malformed request gets a JSON 4xx, and the server answers normally afterwards.
* A client that announces a body and stalls blocks no one; it is dropped after the read timeout.
* Bound with an API key, a request without it is a 401.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from emergence_lens.models.backends.hf import HFBackend  # noqa: E402
from emergence_lens.models.ladder import shipped_ladder  # noqa: E402
from emergence_lens.models.openai_server import serve_in_thread  # noqa: E402

MODEL = shipped_ladder() / "ladder-03"


@pytest.fixture(scope="module")
def server():
    srv, url = serve_in_thread(MODEL, read_timeout=1.0)
    yield srv, url
    srv.shutdown()
    srv.server_close()


def _raw(url: str, data: bytes, timeout: float = 10.0) -> tuple[int, dict]:
    """Send ``data`` as it is; the status and the JSON body of the answer."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(data)
        chunks = b""
        while b"\r\n\r\n" not in chunks or len(chunks.split(b"\r\n\r\n", 1)[1]) < _length(chunks):
            got = s.recv(65536)
            if not got:
                break
            chunks += got
    head, _, body = chunks.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body or b"{}")


def _length(chunks: bytes) -> int:
    for line in chunks.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":")[1])
    return 0


def _post(url: str, path: str, body: object, headers: str = "") -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return _raw(url, f"POST /v1/{path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{headers}"
                     f"Content-Length: {len(data)}\r\n\r\n".encode() + data)


def test_the_openai_client_gets_completions_logprobs_usage_and_chat(server):
    openai = pytest.importorskip("openai")
    _srv, url = server
    client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0)
    hf = HFBackend(MODEL, device="cpu")
    prompt = "12+34="
    got = client.completions.create(model="ladder-03", prompt=prompt, max_tokens=4, temperature=0, stop=["\n"])
    assert got.choices[0].text == hf.generate([prompt], 4, ["\n"])[0]
    assert got.usage.prompt_tokens == hf.token_count(prompt) and got.usage.completion_tokens >= 1
    # a log-likelihood request as lm-eval makes it: echo, no new tokens, logprobs 1
    target = "46"
    ll = client.completions.create(model="ladder-03", prompt=prompt + target, max_tokens=0, echo=True,
                                   logprobs=1, temperature=0)
    lp = ll.choices[0].logprobs
    assert ll.choices[0].text == prompt + target and lp.token_logprobs[0] is None and lp.top_logprobs[0] is None
    n_prompt = hf.token_count(prompt)
    theirs = np.array(lp.token_logprobs[n_prompt:])
    np.testing.assert_allclose(theirs, hf.target_logprobs([prompt], [target])[0], atol=1e-5)
    for value, top in zip(lp.token_logprobs[1:], lp.top_logprobs[1:], strict=True):
        assert len(top) == 1 and max(top.values()) >= value - 1e-9  # the argmax, as is_greedy reads it
    chat = client.chat.completions.create(model="ladder-03", messages=[{"role": "user", "content": prompt}],
                                          max_tokens=4, temperature=0, stop=["\n"])
    assert chat.choices[0].message.content == hf.generate([prompt], 4, ["\n"])[0]
    assert [m.id for m in client.models.list().data] == ["ladder-03"]
    # max_tokens far past the context is clamped to what the context leaves, not a crash
    big = client.completions.create(model="ladder-03", prompt=prompt, max_tokens=10**9, temperature=0)
    assert big.choices[0].finish_reason in ("stop", "length")


def test_every_malformed_request_gets_a_json_4xx_and_the_server_answers_afterwards(server):
    _srv, url = server
    bad = [
        _post(url, "completions", [1]),
        _post(url, "completions", {"prompt": 5}),
        _post(url, "completions", {"prompt": "1+1=", "stop": 5}),
        _post(url, "completions", {"prompt": "1+1=", "max_tokens": -1}),
        _post(url, "completions", {"prompt": "1+1=", "max_tokens": "ten"}),
        _post(url, "completions", {"prompt": "1+1=", "temperature": 0.7}),
        _post(url, "completions", {"prompt": "1+1=", "logprobs": 99}),
        _post(url, "completions", b"{not json"),
        _post(url, "chat/completions", {"messages": "hello"}),
        _post(url, "nowhere", {"prompt": "x"}),
        _post(url, "completions", {"prompt": "1" * 5000}),  # longer than the model's context
        _raw(url, b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000000\r\n\r\n{}"),
        _raw(url, b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: lots\r\n\r\n"),
        _raw(url, b"GARBAGE\r\n\r\n"),
    ]
    statuses = [code for code, _ in bad]
    assert all(400 <= c < 500 for c in statuses), statuses
    assert all(isinstance(body.get("error", {}).get("message"), str) for _, body in bad)
    assert statuses[-3] == 413 and statuses[9] == 404
    code, body = _post(url, "completions", {"prompt": "1+1=", "max_tokens": 2})
    assert code == 200 and body["choices"][0]["text"] is not None


def test_a_stalled_client_blocks_no_one_and_is_dropped(server):
    _srv, url = server
    host, port = url.split("//")[1].split("/")[0].split(":")
    stalled = socket.create_connection((host, int(port)), timeout=10)
    stalled.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{}")  # 2 of 100 bytes
    t0 = time.perf_counter()
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(_post(url, "completions", {"prompt": "2+2=",
                                                                                          "max_tokens": 2})[0]))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert answers == [200, 200, 200] and time.perf_counter() - t0 < 20
    stalled.settimeout(10)
    closed_at = time.perf_counter()
    data = b""
    while True:  # the server answers 400 (the body never came) or closes: either way within the timeout
        got = stalled.recv(4096)
        if not got:
            break
        data += got
    stalled.close()
    assert time.perf_counter() - closed_at < 10
    assert not data or b" 400 " in data.split(b"\r\n", 1)[0]


def test_an_api_key_is_required_when_one_is_set():
    srv, url = serve_in_thread(MODEL, api_key="s3cret", read_timeout=1.0)
    try:
        code, body = _post(url, "completions", {"prompt": "1+1=", "max_tokens": 1})
        assert code == 401 and "API key" in body["error"]["message"]
        code, _ = _post(url, "completions", {"prompt": "1+1=", "max_tokens": 1}, "Authorization: Bearer s3cret\r\n")
        assert code == 200
    finally:
        srv.shutdown()
        srv.server_close()


GEN_YAML = """task: serve_gen
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}/gen.jsonl
test_split: test
output_type: generate_until
doc_to_text: "{{{{context}}}}"
doc_to_target: "{{{{completion}}}}"
generation_kwargs:
  until: ["\\n", "="]
  max_gen_toks: 6
  do_sample: false
metric_list:
  - metric: exact_match
"""
MC_YAML = """task: serve_mc
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}/mc.jsonl
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{question}}}}"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: "{{{{label}}}}"
target_delimiter: ""
metric_list:
  - metric: acc
"""


def test_lm_eval_local_completions_against_serve_equals_lm_eval_on_the_model_itself(server, tmp_path):
    """lm-eval's own client (``local-completions``, ``tokenized_requests=False``) runs a generation and a
    multiple-choice task against ``serve``: every answer, every option's log-likelihood (to 1e-5) and
    is_greedy flag, and the aggregate numbers equal lm-eval's ``--model hf`` on the same checkpoint."""
    import os
    import random
    import subprocess
    import sys

    pytest.importorskip("lm_eval")
    from emergence_lens.tasks import generate_arithmetic

    _srv, url = server
    ex = generate_arithmetic("plus", 2, 30, seed=5, k_shot=0, format="compact", heldout=True)
    rng = random.Random(0)
    with open(tmp_path / "gen.jsonl", "w") as f, open(tmp_path / "mc.jsonl", "w") as g:
        for e in ex:
            f.write(json.dumps({"context": e.prompt, "completion": e.target}) + "\n")
            t = int(e.target)
            opts = list(dict.fromkeys([str(t), str(t + 1), str(abs(t - 10)), str(t + 11)]))
            rng.shuffle(opts)
            g.write(json.dumps({"question": e.prompt, "choices": opts, "label": opts.index(str(t))}) + "\n")
    (tmp_path / "gen.yaml").write_text(GEN_YAML.format(data=tmp_path))
    (tmp_path / "mc.yaml").write_text(MC_YAML.format(data=tmp_path))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "HF_DATASETS_CACHE": str(tmp_path / "cache")}
    runs = {"hf": ["--model", "hf", "--model_args", f"pretrained={MODEL},tokenizer={MODEL}", "--device", "cpu"],
            "api": ["--model", "local-completions", "--model_args",
                    f"model=ladder-03,base_url={url}/completions,tokenized_requests=False,tokenizer={MODEL},"
                    "num_concurrent=1,max_retries=1"]}
    samples = {}
    for name, args in runs.items():
        out = tmp_path / name
        res = subprocess.run([sys.executable, "-m", "lm_eval", "run", *args, "--tasks", "serve_gen", "serve_mc",
                              "--include_path", str(tmp_path), "--output_path", str(out), "--log_samples",
                              "--batch_size", "8"], env=env, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr[-2000:]
        samples[name] = {task: {json.loads(line)["doc_id"]: json.loads(line)
                                for line in next(out.rglob(f"samples_{task}_*.jsonl")).read_text().splitlines()}
                         for task in ("serve_gen", "serve_mc")}
        samples[name]["results"] = json.loads(next(out.rglob("results_*.json")).read_text())["results"]
    hf, api = samples["hf"], samples["api"]
    assert len(api["serve_gen"]) == len(api["serve_mc"]) == 30
    for doc, row in hf["serve_gen"].items():
        assert api["serve_gen"][doc]["filtered_resps"] == row["filtered_resps"]
    for doc, row in hf["serve_mc"].items():
        for (lp_a, greedy_a), (lp_b, greedy_b) in zip(row["filtered_resps"], api["serve_mc"][doc]["filtered_resps"],
                                                      strict=True):
            assert abs(float(lp_a) - float(lp_b)) < 1e-5 and greedy_a == greedy_b
    assert api["results"]["serve_gen"]["exact_match,none"] == hf["results"]["serve_gen"]["exact_match,none"]
    assert api["results"]["serve_mc"]["acc,none"] == hf["results"]["serve_mc"]["acc,none"]
    # and both equal what `evaluate --backend hf` computes on the same examples (its backend, its records)
    from emergence_lens.models.evaluate import evaluate_examples
    from emergence_lens.tasks import TaskExample

    ours = HFBackend(MODEL, device="cpu")
    docs = [json.loads(line) for line in (tmp_path / "mc.jsonl").read_text().splitlines()]
    mc = [TaskExample("serve_mc", str(i), d["question"], d["choices"][d["label"]], tuple(d["choices"]), d["label"])
          for i, d in enumerate(docs)]
    recs = evaluate_examples(ours, mc, family="ladder", model="ladder-03", scale_params=1.0, answer_prefix="")
    for i, lps in enumerate(recs["choice_logprobs"]):
        theirs = [float(lp) for lp, _ in api["serve_mc"][i]["filtered_resps"]]
        np.testing.assert_allclose(list(lps), theirs, atol=1e-5)
    gens = ours.generate([e.prompt for e in ex], 6, ["\n", "="])
    assert [api["serve_gen"][i]["filtered_resps"][0] for i in range(len(ex))] == gens

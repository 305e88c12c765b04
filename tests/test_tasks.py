from __future__ import annotations

import json

import pytest

from emergence_lens.tasks import (
    TaskFormatError,
    generate_arithmetic,
    load_bigbench_dir,
    load_bigbench_task,
    load_gpt3_arithmetic,
)
from tests.conftest import SHARED

needs_shared = pytest.mark.skipif(not SHARED.exists(), reason="../shared/data not present")


@needs_shared
def test_gpt3_real_files():
    files = sorted((SHARED / "gpt3-arithmetic").glob("*.jsonl"))
    assert len(files) == 5
    for f in files:
        ex = load_gpt3_arithmetic(f)
        assert len(ex) == 2000, f
        assert all(e.prompt.startswith("\n\nQ: What is ") and e.prompt.endswith("\n\nA:") for e in ex)
        assert all(e.target.isdigit() for e in ex)
    mult = load_gpt3_arithmetic(SHARED / "gpt3-arithmetic" / "two_digit_multiplication.jsonl")
    assert (mult[0].prompt, mult[0].target) == ("\n\nQ: What is 95 times 45?\n\nA:", "4275")
    # every answer is right: the loader does not mangle operands or targets
    for e in mult:
        a, b = e.prompt.split("What is ")[1].split("?")[0].split(" times ")
        assert int(a) * int(b) == int(e.target)


@needs_shared
def test_bigbench_real_files():
    tasks = load_bigbench_dir(SHARED / "bigbench-tasks" / "arithmetic")
    assert "2_digit_multiplication" in tasks and len(tasks) == 20
    ex = tasks["2_digit_multiplication"][0]
    assert ex.prompt == "What is 50 times 20?" and ex.target == "1000"
    assert ex.choices is not None and ex.choices[ex.correct_choice] == "1000"
    mod = load_bigbench_dir(SHARED / "bigbench-tasks" / "modified_arithmetic")
    assert len(mod) == 6
    assert all(e.choices is None for e in mod["two_digit_multiplication_control"])


def test_gpt3_malformed_lines_name_file_and_line(tmp_path):
    p = tmp_path / "t.jsonl"
    good = json.dumps({"context": "Q", "completion": " 1"})
    for bad, match in [("{oops", "line 2: not valid JSON"), ("[1]", "line 2: expected a JSON object"),
                       ('{"context": "Q"}', "line 2: missing key 'completion'"),
                       ('{"context": "Q", "completion": 7}', "line 2, key 'completion'")]:
        p.write_text(good + "\n" + bad + "\n")
        with pytest.raises(TaskFormatError, match=match) as info:
            load_gpt3_arithmetic(p)
        assert str(p) in str(info.value)
    p.write_text(good + "\n\n" + good + "\n")
    ex = load_gpt3_arithmetic(p)
    assert [e.example_id for e in ex] == ["1", "3"] and ex[0].target == "1"
    assert len(load_gpt3_arithmetic(p, limit=1)) == 1


def test_bigbench_malformed(tmp_path):
    p = tmp_path / "task.json"
    p.write_text('{"examples": [{"input": "x"}]}')
    with pytest.raises(TaskFormatError, match="example 0"):
        load_bigbench_task(p)
    p.write_text('{"examples": [{"input": "x", "target": "1", "target_scores": {"1": "high"}}]}')
    with pytest.raises(TaskFormatError, match="non-numeric"):
        load_bigbench_task(p)
    p.write_text('{"examples": [')
    with pytest.raises(TaskFormatError, match="not valid JSON"):
        load_bigbench_task(p)
    p.write_text('{"name": "n", "examples": [{"input": "x", "target": ["a", "b"]}]}')
    assert load_bigbench_task(p)[0].target == "a"


def test_generator_is_correct_seeded_and_k_shot():
    ex = generate_arithmetic("times", 2, 50, seed=3)
    assert ex == generate_arithmetic("times", 2, 50, seed=3)
    assert ex != generate_arithmetic("times", 2, 50, seed=4)
    assert len({e.prompt.rsplit("Q: ", 1)[1] for e in ex}) == 50  # distinct questions
    for e in ex:
        parts = e.prompt.split("\n\nQ: What is ")[1:]
        assert len(parts) == 3  # 2 shots + the question
        for shot in parts[:2]:
            q, ans = shot.split("?\n\nA: ")
            a, b = map(int, q.split(" times "))
            assert a * b == int(ans) and 10 <= a < 100
        a, b = map(int, parts[2].split("?")[0].split(" times "))
        assert a * b == int(e.target)
    zero = generate_arithmetic("plus", 3, 5, k_shot=0)
    assert all(e.prompt.count("Q:") == 1 for e in zero)


def test_generator_target_length():
    ex = generate_arithmetic("plus", 3, 40, seed=0, target_length=4)
    assert all(len(e.target) == 4 for e in ex)
    with pytest.raises(ValueError, match="answer"):
        generate_arithmetic("plus", 1, 3, target_length=5, max_tries=50)
    # more problems than the space holds: repeats are accepted instead of looping forever
    assert len(generate_arithmetic("plus", 1, 100, seed=0, max_tries=200)) == 100
    with pytest.raises(ValueError):
        generate_arithmetic("minus", 2, 3)

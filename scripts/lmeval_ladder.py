"""Run lm-evaluation-harness (``--model hf``, offline) on every ladder checkpoint.

Produces genuine ``results_*.json`` and ``samples_*.jsonl`` for a generation task and a
multiple-choice task built from generated 2-shot addition problems (local task YAMLs with
``dataset_path: json``).  This is how ``tests/data/lmeval/`` was made:

    pip install 'emergence-lens[lm-eval]' accelerate
    emergence-lens reproduce arithmetic --out docs/reproduce        # trains the ladder
    python scripts/lmeval_ladder.py docs/reproduce/arithmetic/ladder tests/data/lmeval --limit 100

``--variant wild`` makes the layout of published dumps instead (tests/data/lmeval_wild/): a
generation task with two filters (``strict-match`` and ``flexible-extract``, one sample row per
document per filter, like gsm8k), a ``group`` of two multiple-choice subtasks with its aggregate,
and each model's results file renamed ``<model>.json`` (no ``results_`` prefix) in a folder
named after the model, whose name carries no size:

    python scripts/lmeval_ladder.py LADDER tests/data/lmeval_wild --limit 60 --variant wild
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from emergence_lens.tasks import generate_arithmetic

GEN_YAML = """task: ladder_addition_gen
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}/gen.jsonl
test_split: test
output_type: generate_until
doc_to_text: "{{{{context}}}}"
doc_to_target: "{{{{completion}}}}"
generation_kwargs:
  until: ["\\n"]
  max_gen_toks: 8
  do_sample: false
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
    regexes_to_ignore: [" "]
"""
GEN2F_YAML = """task: ladder_addition_gen2f
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}/gen.jsonl
test_split: test
output_type: generate_until
doc_to_text: "{{{{context}}}}"
doc_to_target: "{{{{completion}}}}"
generation_kwargs:
  until: ["\\n"]
  max_gen_toks: 8
  do_sample: false
filter_list:
  - name: "strict-match"
    filter:
      - function: "regex"
        regex_pattern: '^ ?(\\d+)$'
      - function: "take_first"
  - name: "flexible-extract"
    filter:
      - function: "regex"
        group_select: -1
        regex_pattern: '(\\d+)'
      - function: "take_first"
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
    regexes_to_ignore: [" "]
"""
MC2_YAML = """task: ladder_addition_mc2
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}/mc2.jsonl
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{question}}}}"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: "{{{{label}}}}"
metric_list:
  - metric: acc
"""
GROUP_YAML = """group: ladder_arith
task:
  - ladder_addition_mc
  - ladder_addition_mc2
aggregate_metric_list:
  - metric: acc
    aggregation: mean
    weight_by_size: true
"""
MC_YAML = """task: ladder_addition_mc
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}/mc.jsonl
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{question}}}}"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: "{{{{label}}}}"
metric_list:
  - metric: acc
  - metric: brier_score
"""


def write_tasks(folder: Path, n: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    ex = generate_arithmetic("plus", 1, n, seed=11, k_shot=2)
    rng = random.Random(0)
    with open(folder / "gen.jsonl", "w") as f:
        for e in ex:
            f.write(json.dumps({"context": e.prompt, "completion": " " + e.target}) + "\n")
    with open(folder / "mc.jsonl", "w") as f:
        for e in ex:
            t = int(e.target)
            opts = list(dict.fromkeys([str(t), str(t + 1), str(abs(t - 2)), str(t + 10)]))
            rng.shuffle(opts)
            f.write(json.dumps({"question": e.prompt, "choices": opts, "label": opts.index(str(t))}) + "\n")
    ex2 = generate_arithmetic("plus", 2, n, seed=12, k_shot=2)
    with open(folder / "mc2.jsonl", "w") as f:
        for e in ex2:
            t = int(e.target)
            opts = list(dict.fromkeys([str(t), str(t + 1), str(abs(t - 10)), str(t + 100)]))
            rng.shuffle(opts)
            f.write(json.dumps({"question": e.prompt, "choices": opts, "label": opts.index(str(t))}) + "\n")
    (folder / "gen.yaml").write_text(GEN_YAML.format(data=folder))
    (folder / "mc.yaml").write_text(MC_YAML.format(data=folder))
    (folder / "gen2f.yaml").write_text(GEN2F_YAML.format(data=folder))
    (folder / "mc2.yaml").write_text(MC2_YAML.format(data=folder))
    (folder / "group.yaml").write_text(GROUP_YAML)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("ladder", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--variant", choices=["plain", "wild"], default="plain")
    a = ap.parse_args()
    wild = a.variant == "wild"
    task_names = ["ladder_addition_gen2f", "ladder_arith"] if wild else ["ladder_addition_gen", "ladder_addition_mc"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    with tempfile.TemporaryDirectory() as tmp:
        tasks = Path(tmp) / "tasks"
        write_tasks(tasks, a.limit)
        for model in sorted(p for p in a.ladder.iterdir() if (p / "config.json").exists()):
            run_out = Path(tmp) / "runs" / model.name
            cmd = [sys.executable, "-m", "lm_eval", "run", "--model", "hf", "--model_args",
                   f"pretrained={model},tokenizer={model}", "--tasks", *task_names,
                   "--include_path", str(tasks), "--output_path", str(run_out), "--log_samples",
                   "--batch_size", "32", "--device", "cpu"]
            subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
            dest = a.out / model.name
            if dest.exists():
                shutil.rmtree(dest)
            for f in run_out.rglob("*.json*"):
                dest.mkdir(parents=True, exist_ok=True)
                text = f.read_text().replace(str(model.parent), "ladder")  # no local paths in fixtures
                text = text.replace(str(tasks), "tasks")
                name = f"{model.name}.json" if wild and f.name.startswith("results") else f.name
                (dest / name).write_text(text)
            print(f"{model.name}: {dest}")


if __name__ == "__main__":
    main()

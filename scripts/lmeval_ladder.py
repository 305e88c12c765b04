"""Run lm-evaluation-harness (``--model hf``, offline) on every ladder checkpoint.

Produces genuine ``results_*.json`` and ``samples_*.jsonl`` for a generation task and a
multiple-choice task built from generated 2-shot addition problems (local task YAMLs with
``dataset_path: json``).  This is how ``tests/data/lmeval/`` was made:

    pip install 'emergence-lens[lm-eval]' accelerate
    emergence-lens reproduce arithmetic --out docs/reproduce        # trains the ladder
    python scripts/lmeval_ladder.py docs/reproduce/arithmetic/ladder tests/data/lmeval --limit 100
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
    (folder / "gen.yaml").write_text(GEN_YAML.format(data=folder))
    (folder / "mc.yaml").write_text(MC_YAML.format(data=folder))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("ladder", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--limit", type=int, default=100)
    a = ap.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    with tempfile.TemporaryDirectory() as tmp:
        tasks = Path(tmp) / "tasks"
        write_tasks(tasks, a.limit)
        for model in sorted(p for p in a.ladder.iterdir() if (p / "config.json").exists()):
            run_out = Path(tmp) / "runs" / model.name
            cmd = [sys.executable, "-m", "lm_eval", "run", "--model", "hf", "--model_args",
                   f"pretrained={model},tokenizer={model}", "--tasks", "ladder_addition_gen", "ladder_addition_mc",
                   "--include_path", str(tasks), "--output_path", str(run_out), "--log_samples",
                   "--batch_size", "32", "--device", "cpu"]
            subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
            dest = a.out / model.name
            if dest.exists():
                shutil.rmtree(dest)
            for f in run_out.rglob("*.json*"):
                dest.mkdir(parents=True, exist_ok=True)
                text = f.read_text().replace(str(model.parent), "ladder")  # no local paths in fixtures
                (dest / f.name).write_text(text)
            print(f"{model.name}: {dest}")


if __name__ == "__main__":
    main()

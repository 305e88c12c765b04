"""Write the tutorial's lm-evaluation-harness tasks (``docs/tutorial/tasks``).

Three local tasks on held-out compact addition problems (``"1234+5678="`` -> ``"6912"``, the format
the shipped arithmetic ladder was trained on; no problem was trained on), 100 each:

* ``ladder_add4`` / ``ladder_add5`` — generation, greedy until a newline, exact match (4- and
  5-digit answers);
* ``ladder_add5_mc`` — the 5-digit problems as multiple choice: the answer and three distractors
  (off by one, by ten, by a thousand), accuracy and Brier score.

Each YAML names its data by the folder as given, so lm_eval is run from the repository root:

    python scripts/tutorial_tasks.py docs/tutorial/tasks
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

GEN_YAML = """task: {task}
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: generate_until
doc_to_text: "{{{{context}}}}"
doc_to_target: "{{{{completion}}}}"
target_delimiter: ""
generation_kwargs:
  until: ["\\n"]
  max_gen_toks: 8
  do_sample: false
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
"""
MC_YAML = """task: {task}
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{context}}}}"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: "{{{{label}}}}"
target_delimiter: ""
metric_list:
  - metric: acc
  - metric: brier_score
"""


def main() -> None:
    from emergence_lens.experiments.arithmetic import make_examples

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--limit", type=int, default=100)
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    examples = make_examples(a.limit, seed=7)
    rng = random.Random(0)
    for name, task in (("ladder_add4", "addition-L4"), ("ladder_add5", "addition-L5")):
        rows = [e for e in examples if e.task == task]
        (a.out / f"{name}.jsonl").write_text(
            "".join(json.dumps({"context": e.prompt, "completion": e.target}) + "\n" for e in rows))
        (a.out / f"{name}.yaml").write_text(GEN_YAML.format(task=name, data=a.out / f"{name}.jsonl"))
    with open(a.out / "ladder_add5_mc.jsonl", "w") as f:
        for e in (e for e in examples if e.task == "addition-L5"):
            t = int(e.target)
            options = list(dict.fromkeys([t, t + 1, t - 10 if t >= 10010 else t + 10, t + 1000]))
            rng.shuffle(options)
            f.write(json.dumps({"context": e.prompt, "choices": [str(o) for o in options],
                                "label": options.index(t)}) + "\n")
    mc_yaml = MC_YAML.format(task="ladder_add5_mc", data=a.out / "ladder_add5_mc.jsonl")
    (a.out / "ladder_add5_mc.yaml").write_text(mc_yaml)


if __name__ == "__main__":
    main()

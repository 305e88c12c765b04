"""Check that lm-evaluation-harness runs the ladder in its own format and agrees with us.

For each ladder member given, lm-eval 0.4.13 (``--model hf``, offline, a local task YAML with
``dataset_path: json``) answers held-out compact problems (``"1234+5678="`` -> ``"6912"``,
greedy, until a newline); emergence-lens's own evaluation answers the same problems.  Prints both
exact matches and how many answers differ, and keeps lm-eval's results and samples in OUT:

    pip install 'emergence-lens[lm-eval]' accelerate
    python scripts/lmeval_compact.py OUT --limit 200                       # shipped ladder, all members
    python scripts/lmeval_compact.py OUT --models ladder-01 ladder-08 --task addition-L5
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tutorial_tasks import GEN_YAML  # the same generation task as the tutorial's (scripts/ is on sys.path)


def main() -> None:
    from emergence_lens.experiments.arithmetic import make_examples
    from emergence_lens.models.backends.hf import HFBackend
    from emergence_lens.models.ladder import DEFAULT_SIZES, shipped_ladder

    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--ladder", type=Path, default=None, help="default: the shipped ladder")
    ap.add_argument("--models", nargs="*", default=[s.name for s in DEFAULT_SIZES])
    ap.add_argument("--task", default="addition-L5")
    ap.add_argument("--limit", type=int, default=200)
    a = ap.parse_args()
    ladder = a.ladder or shipped_ladder()
    examples = [e for e in make_examples(a.limit, seed=0) if e.task == a.task]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    a.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "compact.jsonl"
        data.write_text("".join(json.dumps({"context": e.prompt, "completion": e.target}) + "\n" for e in examples))
        (Path(tmp) / "compact.yaml").write_text(GEN_YAML.format(task="ladder_compact", data=data))
        for name in a.models:
            model = ladder / name
            run_out = a.out / name
            cmd = [sys.executable, "-m", "lm_eval", "run", "--model", "hf", "--model_args",
                   f"pretrained={model},tokenizer={model}", "--tasks", "ladder_compact", "--include_path", tmp,
                   "--output_path", str(run_out), "--log_samples", "--batch_size", "64", "--device", "cpu"]
            subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
            samples = [json.loads(line) for f in run_out.rglob("samples_*.jsonl") for line in f.open()]
            samples.sort(key=lambda s: int(s["doc_id"]))
            theirs = [str(s["filtered_resps"][0]).strip() for s in samples]
            ours = [p.strip() for p in HFBackend(model, device="cpu").generate([e.prompt for e in examples], 8, ["\n"])]
            em_theirs = sum(t == e.target for t, e in zip(theirs, examples, strict=True)) / len(examples)
            em_ours = sum(o == e.target for o, e in zip(ours, examples, strict=True)) / len(examples)
            differ = sum(t != o for t, o in zip(theirs, ours, strict=True))
            print(f"{name} {a.task}: lm-eval exact match {em_theirs:.3f}, emergence-lens {em_ours:.3f}, "
                  f"{differ} of {len(examples)} answers differ")


if __name__ == "__main__":
    main()

"""Tasks: loaders for GPT-3 arithmetic JSONL and BIG-bench ``task.json``, and a generator of
n-digit arithmetic in the GPT-3 few-shot format."""

from emergence_lens.tasks.arithmetic import format_question, generate_arithmetic
from emergence_lens.tasks.bigbench import load_bigbench_dir, load_bigbench_task
from emergence_lens.tasks.example import TaskExample, TaskFormatError
from emergence_lens.tasks.gpt3 import load_gpt3_arithmetic

__all__ = ["TaskExample", "TaskFormatError", "load_gpt3_arithmetic", "load_bigbench_task",
           "load_bigbench_dir", "generate_arithmetic", "format_question"]

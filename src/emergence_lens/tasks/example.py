"""The task example every loader and generator produces."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TaskExample", "TaskFormatError"]


class TaskFormatError(ValueError):
    """A task file is malformed; the message names the file, the line (or example) and the key."""


@dataclass(frozen=True)
class TaskExample:
    """One test example.

    Attributes:
        task: task (or subtask) name.
        example_id: id, unique within the task.
        prompt: what the model sees (few-shot context included).
        target: the reference answer (as the model should emit it, without the leading space).
        choices: answer options for multiple-choice scoring, or ``None``.
        correct_choice: index of the right option in ``choices``, or ``None``.
    """

    task: str
    example_id: str
    prompt: str
    target: str
    choices: tuple[str, ...] | None = None
    correct_choice: int | None = None

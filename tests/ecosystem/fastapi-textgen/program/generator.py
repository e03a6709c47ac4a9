"""The "model": a table of which word follows which, read from the model artifact; generation follows it greedily."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path


class Generator:
    def __init__(self, table: dict[str, str], fallback: str) -> None:
        self.table = table
        self.fallback = fallback

    @classmethod
    def load(cls, model_dir: Path) -> Generator:
        document = json.loads((model_dir / "next-word.json").read_text())
        return cls(document["next"], document["fallback"])

    def tokens(self, prompt: str, max_new_tokens: int) -> Iterator[str]:
        words = re.findall(r"[a-z']+", prompt.lower())
        word = words[-1] if words else ""
        for i in range(max_new_tokens):
            word = self.table.get(word, self.fallback)
            yield word if i == 0 else " " + word

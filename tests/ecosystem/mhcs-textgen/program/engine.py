"""The engine: completions from a table of which word follows which (the model artifact), loaded asynchronously the
way an LLM engine loads its weights; greedy, so the same prompt always completes the same way."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

log = logging.getLogger("engine")


class Engine:
    def __init__(self, model_dir: Path) -> None:
        self.model_dir = model_dir
        self.table: dict[str, str] | None = None
        self.fallback = ""
        self.error: str | None = None

    @property
    def ready(self) -> bool:
        return self.table is not None

    async def start(self) -> None:
        try:
            document = await asyncio.to_thread(lambda: json.loads((self.model_dir / "next-word.json").read_text()))
            self.table, self.fallback = document["next"], document["fallback"]
            log.info("engine ready: %d entries from %s", len(self.table), self.model_dir)
        except (OSError, ValueError, KeyError) as error:
            self.error = f"cannot load the model from {self.model_dir}: {error}"
            log.error(self.error)

    async def complete(self, prompt: str, max_tokens: int) -> AsyncIterator[str]:
        assert self.table is not None
        words = re.findall(r"[a-z']+", prompt.lower())
        word = words[-1] if words else ""
        for _ in range(max_tokens):
            word = self.table.get(word, self.fallback)
            yield " " + word
            await asyncio.sleep(0)

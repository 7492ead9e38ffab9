"""A script writer: source text → the explainer's scene script (an LLM, or the offline rule-based writer)."""

from typing import Protocol

from media.script import Script


class ScriptWriter(Protocol):
    async def write_script(self, text: str, *, title: str | None, max_scenes: int, language: str) -> Script:
        """Scenes for `text` in `language` (BCP 47, e.g. "en"); raises ProviderError/MediaError."""
        ...

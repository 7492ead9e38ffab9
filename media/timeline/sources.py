"""The files a timeline refers to, found and rewritten in its JSON before it becomes a `Timeline`.

A timeline sent to the API names its media by URL (or an upload); the renderer reads local files. Between the
two the job fetches every reference once and rewrites it: to a local path for the render, to a storage key for
the manifest it keeps. This works on the plain JSON because a URL does not survive being parsed as a `Path`.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from media.inputs.fetch import MediaKind

# What each clip type's `source` must be; a TextStyle's `font` is always a font.
_SOURCE_KINDS: dict[str, frozenset[MediaKind]] = {
    "image": frozenset({"image"}),
    "video": frozenset({"video"}),
    "overlay": frozenset({"video"}),
    "sound": frozenset({"audio", "video"}),  # an audio track inside a video file is fine
}
FONT: frozenset[MediaKind] = frozenset({"font"})


@dataclass(frozen=True)
class Reference:
    path: str  # where it is, as errors name it: "tracks[0].clips[2].source"
    value: str
    accept: frozenset[MediaKind]


def references(data: dict[str, Any]) -> list[Reference]:
    """Every file reference in a timeline's JSON, in document order. Malformed parts are skipped: the
    timeline's own validation reports them."""
    return [Reference(path, value, accept) for path, _, _, value, accept in _walk(data)]


def rewrite(data: dict[str, Any], new_value: Callable[[str], str]) -> dict[str, Any]:
    """A copy of the timeline's JSON with every file reference replaced by `new_value(old)`."""
    copy: dict[str, Any] = _deep_copy(data)
    for _, holder, key, value, _ in _walk(copy):
        holder[key] = new_value(value)
    return copy


def _walk(data: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], str, str, frozenset[MediaKind]]]:
    for group, default_type in (("tracks", None), ("audio", "sound")):
        for t_index, track in _items(data.get(group)):
            clips = track.get("clips") if isinstance(track, dict) else None
            for c_index, clip in _items(clips):
                if not isinstance(clip, dict):
                    continue
                path = f"{group}[{t_index}].clips[{c_index}]"
                kind = _SOURCE_KINDS.get(str(default_type or clip.get("type")))
                if kind is not None and isinstance(clip.get("source"), str):
                    yield f"{path}.source", clip, "source", clip["source"], kind
                style = clip.get("style")
                if isinstance(style, dict) and isinstance(style.get("font"), str):
                    yield f"{path}.style.font", style, "font", style["font"], FONT


def _items(value: object) -> Iterator[tuple[int, Any]]:
    return enumerate(value) if isinstance(value, list) else iter(())


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value

"""Subtitle files (SRT, WebVTT) that agree with the burned-in captions: both come from the same phrases, cut
by the same rules (at most `max_words` words, two lines at the caption's font and width, a new phrase after
a long pause), so a phrase on screen and a cue in the file start and end together."""

from dataclasses import dataclass

from media.render.layout import Phrase, join_words, phrases, spaced
from media.timeline.model import CaptionsClip, Timeline
from media.timeline.schedule import place, resting_box

SAFE_SIDE = 0.08  # share of the frame's width kept clear on each side of default-placed captions


@dataclass(frozen=True)
class Cue:
    start: float  # seconds in the video
    end: float
    text: str


def caption_area(clip: CaptionsClip, width: int, height: int) -> tuple[int, int]:
    """Left edge and width of the block captions are centred in: the box given, or the frame less its
    side safe areas."""
    x, _, box_w, _ = resting_box(clip, width, height)
    if clip.width is not None:
        return x, box_w
    left = round(width * SAFE_SIDE) if clip.x == 0.0 else x
    return left, box_w - 2 * left


def caption_phrases(clip: CaptionsClip, width: int, height: int) -> list[Phrase]:
    _, area = caption_area(clip, width, height)
    return phrases(list(clip.words), clip.style, round(clip.style.size), area, clip.max_words)


def cues(timeline: Timeline) -> list[Cue]:
    """Every caption phrase of the timeline, in time order, cut off where its clip ends."""
    out = timeline.output
    found: list[Cue] = []
    for p in place(timeline):
        if not isinstance(p.clip, CaptionsClip):
            continue
        words = p.clip.words
        for phrase in caption_phrases(p.clip, out.width, out.height):
            start = p.start + phrase.start
            end = min(p.end, p.start + phrase.end)
            if end > start:
                text = join_words([w.text for w in words[phrase.first : phrase.last + 1]])
                found.append(Cue(start, end, text))
    return sorted(found, key=lambda cue: cue.start)


@dataclass(frozen=True)
class WordCue:
    """A phrase, and when each of its words is spoken (seconds in the video), for karaoke players."""

    start: float
    end: float
    words: list[tuple[str, float]]


def word_cues(timeline: Timeline) -> list[WordCue]:
    """The same phrases as `cues`, each with its words' start times."""
    out = timeline.output
    found: list[WordCue] = []
    for p in place(timeline):
        if not isinstance(p.clip, CaptionsClip):
            continue
        words = p.clip.words
        for phrase in caption_phrases(p.clip, out.width, out.height):
            start, end = p.start + phrase.start, min(p.end, p.start + phrase.end)
            said = [(w.text, max(start, p.start + w.start)) for w in words[phrase.first : phrase.last + 1]]
            if end > start:
                found.append(WordCue(start, end, [(text, min(at, end)) for text, at in said]))
    return sorted(found, key=lambda cue: cue.start)


def to_word_webvtt(items: list[WordCue]) -> str:
    """WebVTT with a timestamp tag before each word after the first (the spec's karaoke style): players
    that support it colour each word as it is spoken; others show the phrase."""
    blocks = []
    for c in items:
        shown = c.words[0][0]
        for k in range(1, len(c.words)):
            text, at = c.words[k]
            gap = " " if spaced(c.words[k - 1][0], text) else ""
            shown += f"{gap}<{_clock(at, '.')}>{text}"
        blocks.append(f"{_clock(c.start, '.')} --> {_clock(c.end, '.')}\n{shown}\n")
    return "WEBVTT\n\n" + "\n".join(blocks)


def to_srt(items: list[Cue]) -> str:
    blocks = [
        f"{n}\n{_clock(c.start, ',')} --> {_clock(c.end, ',')}\n{c.text}\n" for n, c in enumerate(items, 1)
    ]
    return "\n".join(blocks)


def to_webvtt(items: list[Cue]) -> str:
    blocks = [f"{_clock(c.start, '.')} --> {_clock(c.end, '.')}\n{c.text}\n" for c in items]
    return "WEBVTT\n\n" + "\n".join(blocks)


def _clock(seconds: float, point: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{point}{millis:03d}"

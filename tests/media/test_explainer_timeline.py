"""An explainer's timeline from narrations and pictures, and subtitle files that agree with its captions."""

from __future__ import annotations

from pathlib import Path

from media.kinds.explainer import TRANSITION_SECONDS, ExplainerLook, explainer_timeline
from media.providers.voice.base import Speech, WordTiming
from media.render.subtitles import caption_phrases, cues, to_srt, to_webvtt
from media.timeline.model import CaptionsClip
from tests.media.media_factory import probe_audio, write_image, write_wav
from tests.media.timeline_factory import FPS, H, W, mean, render


def speech(folder: Path, name: str, seconds: float, text: str) -> Speech:
    words = text.split()
    step = seconds / len(words)
    timings = [WordTiming(text=w, start=k * step, end=(k + 0.8) * step) for k, w in enumerate(words)]
    return Speech(audio=write_wav(folder / f"{name}.wav", seconds), duration=seconds, words=timings)


def test_scenes_follow_their_narrations_and_the_video_is_the_narrations_plus_one_transition(
    tmp_path: Path,
) -> None:
    speeches = [
        speech(tmp_path, "a", 1.2, "First we load the data"),
        speech(tmp_path, "b", 1.6, "then we clean it and look at every row twice over"),
    ]
    pictures = [
        write_image(tmp_path / "a.jpg", (200, 40, 40), (W, H)),
        write_image(tmp_path / "b.jpg", (40, 60, 200), (W, H)),
    ]
    tl = explainer_timeline(speeches, pictures, ExplainerLook(width=W, height=H, fps=FPS, preset="ultrafast"))
    rendered = render(tmp_path, tl)
    assert abs(rendered.result.duration_seconds - (1.2 + 1.6 + TRANSITION_SECONDS)) < 1 / FPS
    first, second = rendered.frames(5, 25).values()  # 0.5 s: scene a; 2.5 s: scene b
    assert mean(first, 0, 0, W, H // 3)[0] > 150 and mean(second, 0, 0, W, H // 3)[2] > 150
    assert abs(probe_audio(rendered.video).seconds - rendered.result.duration_seconds) < 0.05

    found = cues(tl)
    captions = [c for t in tl.tracks for c in t.clips if isinstance(c, CaptionsClip)]
    on_screen = [p for c in captions for p in caption_phrases(c, W, H)]
    assert len(found) == len(on_screen) >= 2  # the same phrases as the burned-in captions
    assert found[0].start == TRANSITION_SECONDS / 2 and found[0].text.startswith("First we load")
    assert all(a.end <= b.start + 1e-9 for a, b in zip(found, found[1:], strict=False))

    srt, vtt = to_srt(found), to_webvtt(found)
    assert srt.startswith("1\n00:00:00,250 --> ") and "First we load" in srt
    assert vtt.startswith("WEBVTT\n\n00:00:00.250 --> ")
    assert srt.count("-->") == vtt.count("-->") == len(found)

"""Image to video: a still image and a motion prompt → a few seconds of video.

`receive` answers with a clip of the timeline model: the vendor's video as a file (a VideoClip), or, offline,
the still with a camera move over it (an ImageClip with Ken Burns). Either way the job renders that one clip
with our renderer at exactly the size and length the scene asks for, so a vendor's file is decoded only in
the render's limited child process and every scene video comes out the same way.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from media.providers.task import Progress
from media.timeline.model import ImageClip, VideoClip

Motion = ImageClip | VideoClip


@dataclass(frozen=True)
class VideoRequest:
    image: Path  # a local PNG or JPEG
    prompt: str  # how things move: "slow push in, steam rising"
    duration: int  # whole seconds
    ratio: str  # the video's ratio as the scene asks for it, e.g. "1280:768"


class ImageToVideo(Protocol):
    @property
    def name(self) -> str:
        """The provider's name as prices name it ("runway", "offline")."""
        ...

    async def submit(self, request: VideoRequest) -> str:
        """Start making the video; the task id to wait for (keep it: a rerun waits for the same task)."""
        ...

    async def receive(self, task: str, request: VideoRequest, dest: Path, progress: Progress) -> Motion:
        """The clip to render, `request.duration` long, its source a local file at or next to `dest`."""
        ...

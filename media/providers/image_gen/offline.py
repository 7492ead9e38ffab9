"""Image generation with no key and no network: the product reference fitted to the frame when there is one,
else a styled card of the prompt, labelled as an offline stand-in so nobody takes it for a generated picture.
"""

import asyncio
from pathlib import Path

from PIL import Image

from media.providers.image_gen.base import ImageRequest
from media.providers.task import Progress
from media.providers.visual.base import Theme
from media.providers.visual.canvas import check_frame, paint_off_loop, printable, save_png
from media.providers.visual.title import STAND_IN_BADGE, draw_card
from media.render.images import load_fitted

# Nothing runs elsewhere, so there is no task to keep; every offline "task" has this id.
TASK = "offline"


class OfflineImages:
    name = "offline"

    def __init__(self, theme: Theme | None = None) -> None:
        self.theme = theme or Theme()

    async def submit(self, request: ImageRequest) -> str:
        check_frame(*request.size)
        return TASK

    async def receive(self, task: str, request: ImageRequest, dest: Path, progress: Progress) -> Path:
        width, height = request.size
        check_frame(width, height)
        path = dest.with_suffix(".png")
        if request.reference is not None:
            reference = request.reference

            def fitted() -> None:  # allow-listed formats, pixel count checked before decoding
                save_png(Image.fromarray(load_fitted(reference, width, height)), path)

            await asyncio.to_thread(fitted)
        else:
            # printable: a stand-in card must not fail on characters DejaVu cannot draw.
            prompt = printable(request.prompt.strip())
            await paint_off_loop(
                lambda: draw_card("", prompt, width, height, self.theme, badge=STAND_IN_BADGE, quote=True),
                path,
            )
        await progress(1.0, "drawn offline")
        return path

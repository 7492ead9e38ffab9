"""A scene's picture from a cloud image provider, from its visual prompt: Runway's text to image when
CLIPFORGE_IMAGE_GEN_PROVIDER names it (the AI scene video's image capability), else OpenAI images when
CLIPFORGE_IMAGE_PROVIDER does (the explainer's); None of either: the offline designer draws it.

Each picture is a paid action (`generate_image`, priced for the provider that makes it), held before and
charged once. The provider's task id is checkpointed the moment it exists, and the stored picture's key once
it is stored, so a rerun or a retryJob polls the task it already paid for, or takes the stored picture,
instead of paying again.
"""

from __future__ import annotations

import math
from pathlib import Path

from jobs.kind import PaidAction
from jobs.kinds.short.params import ShortParams
from jobs.remote import run_task
from jobs.stage import StageCall
from media.errors import MediaError
from media.kinds.scene import MAX_SECONDS, MIN_SECONDS, MOTION_RATIOS, nearest
from media.kinds.short import TRANSITION_SECONDS
from media.providers.image_gen.base import ImageRequest
from media.providers.image_to_video.base import VideoRequest
from media.providers.visual.base import Theme
from media.script import Scene
from media.storage.placement import artifact_key
from media.storyboard import StoryScene
from media.timeline.model import VideoClip

OFFLINE = "offline"
# The frame sizes a short takes, as Runway's text to image names the closest ratios it makes.
RUNWAY_RATIOS = {(1080, 1920): "1080:1920", (1920, 1080): "1920:1080", (1080, 1080): "1024:1024"}


def cloud(call: StageCall[ShortParams]) -> str | None:
    """The provider that will make the pictures, or None: drawn offline."""
    if call.providers.image_gen.name != OFFLINE:
        return call.providers.image_gen.name
    if call.providers.pictures is not None:
        return call.providers.pictures_provider
    return None


def moving(call: StageCall[ShortParams]) -> bool:
    """Whether each picture is made into video: asked for, and an image-to-video provider configured (the
    offline one would only repeat the camera move every picture already gets)."""
    return call.params.motion and call.providers.image_to_video.name != OFFLINE


def paid(params: ShortParams) -> tuple[PaidAction, ...]:
    """What a short pays for, for the API's up-front check: a picture for each scene without one of the
    user's, and with `motion` a video of each scene. Both image capabilities are listed, since which is
    configured is the workers' choice; the one left offline is free, so the sum is right unless both are
    configured (then it asks for twice as much)."""
    scenes = len(params.storyboard.scenes) if params.storyboard else _scenes_for(params.duration_seconds)
    made = max(0, scenes - len(params.images))
    actions = [PaidAction("generate_image", c) for _ in range(made) for c in ("image_gen", "image")]
    if params.motion:
        actions += [PaidAction("generate_scene", "image_to_video")] * scenes
    return tuple(actions)


def _scenes_for(seconds: float) -> int:
    # The offline writer's count (media.providers.story.offline): a hook, a beat per ~5.5 s, a close.
    return 2 + max(3, min(6, round((seconds - 7) / 5.5)))


async def generate(call: StageCall[ShortParams], k: int, scene: StoryScene, folder: Path) -> str:
    """The scene's picture made by the cloud provider and stored; its storage key."""
    width, height = call.params.width, call.params.height
    images = call.providers.image_gen
    if images.name != OFFLINE:
        request = ImageRequest(
            prompt=scene.visual_prompt, ratio=RUNWAY_RATIOS.get((width, height), "1080:1920")
        )

        async def progress(share: float, message: str) -> None:
            pass  # a scene's share of the stage is reported when it is done

        async with call.paid("generate_image", provider=images.name, item=f"scene-{k}"):
            path = await run_task(
                call,
                f"picture-{k}",
                lambda: images.submit(request),
                lambda task: images.receive(task, request, folder / f"picture-{k:02d}", progress),
            )
            return await _store(call, k, path)
    painter = call.providers.pictures
    assert painter is not None
    prompt = Scene(narration=scene.narration or ".", visual="image", content=scene.visual_prompt)
    async with call.paid("generate_image", provider=call.providers.pictures_provider, item=f"scene-{k}"):
        path = await painter.paint(
            prompt, folder / f"picture-{k:02d}.png", width=width, height=height, theme=Theme()
        )
        return await _store(call, k, path)


async def _store(call: StageCall[ShortParams], k: int, path: Path) -> str:
    content_type = {".png": "image/png", ".webp": "image/webp"}.get(path.suffix, "image/jpeg")
    key = artifact_key(call.job_id, "image", f"images/scene-{k:02d}{path.suffix}")
    await call.add_artifact(
        "image", key, content_type, await call.tools.storage.put_file(key, path, content_type)
    )
    return key


async def animate(
    call: StageCall[ShortParams], k: int, scene: StoryScene, picture: Path, folder: Path
) -> str:
    """The scene's picture made into video by the image-to-video provider (a paid `generate_scene`, its
    task checkpointed like a picture's), stored as a `clip`; its storage key. The video is as long as the
    scene and its transitions, within what the models make (2-10 s; a longer scene loops its clip)."""
    motion = call.providers.image_to_video
    seconds = max(MIN_SECONDS, min(MAX_SECONDS, math.ceil(scene.duration + TRANSITION_SECONDS)))
    request = VideoRequest(
        image=picture,
        prompt=(scene.visual_prompt or scene.on_screen_text or "a slow, steady camera move")[:1000],
        duration=seconds,
        ratio=nearest(f"{call.params.width}:{call.params.height}", MOTION_RATIOS),
    )

    async def progress(share: float, message: str) -> None:
        pass  # a scene's share of the stage is reported when it is done

    async with call.paid("generate_scene", provider=motion.name, item=f"scene-{k}"):
        clip = await run_task(
            call,
            f"motion-{k}",
            lambda: motion.submit(request),
            lambda task: motion.receive(task, request, folder / f"clip-{k:02d}", progress),
        )
        if not isinstance(clip, VideoClip):  # a provider that answered with a still: nothing to show
            raise MediaError("PROVIDER_BAD_RESPONSE", f"{motion.name} made no video of scene {k + 1}")
        key = artifact_key(call.job_id, "clip", f"clips/scene-{k:02d}{clip.source.suffix or '.mp4'}")
        size = await call.tools.storage.put_file(key, clip.source, "video/mp4")
        await call.add_artifact("clip", key, "video/mp4", size)
    return key

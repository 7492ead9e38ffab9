"""Mutation inputs. Field names are the public contract (SPEC.md)."""

from __future__ import annotations

import strawberry
from strawberry.file_uploads import Upload
from strawberry.scalars import JSON

PREVIEW = "Render a quick preview: half the size, x264's fastest preset."
WEBHOOK_URL = (
    "Where to POST the job when it ends (completed, failed or cancelled), signed per Standard Webhooks with "
    "your webhookSigningSecret; retried for a day. Your registered webhooks hear about it too."
)
IDEMPOTENCY_KEY = (
    "Send the same key (e.g. a UUID) again to safely retry this create: the same key with the same input "
    "returns the job the first request made; with a different input it is IDEMPOTENCY_KEY_REUSED."
)


@strawberry.input
class SlideshowInput:
    image_urls: list[str] | None = None
    images: list[Upload] | None = strawberry.field(
        default=None, description="Uploads (GraphQL multipart request spec); 1–20 images with imageUrls."
    )
    audio_url: str | None = None
    audio: Upload | None = None
    overlay_url: str | None = strawberry.field(default=None, description="e.g. a film-dust video")
    overlay: Upload | None = None
    size: str = strawberry.field(default="1080x1920", description="1080x1920, 1920x1080 or 1080x1080")
    seconds_per_image: float = 4.0
    transition_seconds: float = 0.5
    preview: bool = strawberry.field(default=False, description=PREVIEW)
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)
    webhook_url: str | None = strawberry.field(default=None, description=WEBHOOK_URL)


@strawberry.input(description="A declarative timeline to render; see the README for its fields.")
class TimelineInput:
    timeline: JSON = strawberry.field(
        description="Output settings, visual tracks and audio tracks. Media and fonts are named by http(s) "
        'URL or as "upload:N", the N-th of `files`.'
    )
    files: list[Upload] | None = strawberry.field(
        default=None, description="Uploads (GraphQL multipart request spec) the timeline refers to."
    )
    preview: bool = strawberry.field(default=False, description=PREVIEW)
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)
    webhook_url: str | None = strawberry.field(default=None, description=WEBHOOK_URL)


@strawberry.input(description="Text → a narrated, captioned explainer video.")
class ExplainerInput:
    source_text: str = strawberry.field(
        description="Plain text or Markdown; code fences, $math$ and steps help."
    )
    title: str | None = None
    size: str = strawberry.field(default="1080x1920", description="1080x1920, 1920x1080 or 1080x1080")
    voice: str | None = strawberry.field(default=None, description="A voice from the voices query.")
    language: str = strawberry.field(default="en", description="BCP 47, e.g. en, de, pt-BR")
    visual_style: str = strawberry.field(default="dark", description="dark, light, warm or ocean")
    max_scenes: int = 8
    preview: bool = strawberry.field(default=False, description=PREVIEW)
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)
    webhook_url: str | None = strawberry.field(default=None, description=WEBHOOK_URL)


@strawberry.input(description="An idea → a vertical, voiced, captioned short with a music bed.")
class ShortInput:
    idea: str | None = strawberry.field(default=None, description="One line; required unless storyboard.")
    tone: str | None = strawberry.field(
        default=None,
        description="upbeat, playful, inspiring, informative, corporate, calm, dramatic or mysterious "
        "(palette and music mood); unset: read from the idea.",
    )
    format: str | None = strawberry.field(
        default=None, description="explainer, listicle, howto, story or myth"
    )
    audience: str | None = None
    language: str = strawberry.field(default="en", description="BCP 47, e.g. en, de, pt-BR")
    voice: str | None = strawberry.field(default=None, description="A voice from the voices query.")
    duration_seconds: float | None = strawberry.field(default=None, description="15–90; default 30.")
    expand: bool = strawberry.field(default=True, description="Plan the idea (expandIdea) before drafting.")
    storyboard: JSON | None = strawberry.field(
        default=None,
        description='Your own storyboard, rendered as given: {"title": …, "scenes": [{"narration", '
        '"onScreenText", "visualPrompt", "duration"}]}.',
    )
    image_urls: list[str] | None = strawberry.field(default=None, description="Image k is scene k's picture.")
    images: list[Upload] | None = strawberry.field(default=None, description="Uploads, after imageUrls.")
    music_url: str | None = None
    music: Upload | None = None
    music_mood: str | None = strawberry.field(
        default=None,
        description="upbeat, calm, dramatic or corporate: a generated bed (default: the tone's).",
    )
    captions: bool = strawberry.field(default=True, description="Burn in word-highlighted captions.")
    caption_style: str = strawberry.field(default="highlight", description="highlight, boxed or minimal")
    motion: bool = strawberry.field(
        default=False,
        description="Make each scene's picture into video with the image-to-video provider "
        "(CLIPFORGE_IMAGE_TO_VIDEO_PROVIDER; a paid generate_scene per scene). Offline, pictures keep their "
        "camera moves.",
    )
    size: str = strawberry.field(default="1080x1920", description="1080x1920, 1920x1080 or 1080x1080")
    preview: bool = strawberry.field(default=False, description=PREVIEW)
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)
    webhook_url: str | None = strawberry.field(default=None, description=WEBHOOK_URL)


@strawberry.input(description="An idea to plan (expandIdea).")
class ExpandIdeaInput:
    idea: str
    tone: str | None = None
    format: str | None = None
    audience: str | None = None
    language: str = "en"


@strawberry.input(description="A product, a style and a call to action → a 30 s ad in four scenes.")
class ProductAdInput:
    product_name: str
    style: str = strawberry.field(
        description="LUXURY, ENERGETIC, MINIMAL or BOLD (any case); see styles(kind: PRODUCT_AD)."
    )
    cta_text: str = strawberry.field(description="The call to action on the end card, e.g. 'Shop now'.")
    product_image_url: str | None = None
    product_image: Upload | None = strawberry.field(
        default=None, description="A JPEG, PNG (transparency kept), WebP or GIF of the product."
    )
    description: str | None = strawberry.field(default=None, description="What the product is and does.")
    audience: str | None = strawberry.field(default=None, description="Who it is for.")
    size: str = strawberry.field(default="1080x1920", description="1080x1920, 1920x1080 or 1080x1080")
    voice: str | None = strawberry.field(default=None, description="A voice from the voices query.")
    language: str = strawberry.field(default="en", description="BCP 47, e.g. en, de, pt-BR")
    music_url: str | None = strawberry.field(
        default=None, description="A backing track; else the style's mood."
    )
    music: Upload | None = None
    preview: bool = strawberry.field(default=False, description=PREVIEW)
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)
    webhook_url: str | None = strawberry.field(default=None, description=WEBHOOK_URL)

"""Mutation inputs. Field names are the public contract (SPEC.md)."""

from __future__ import annotations

import strawberry
from strawberry.file_uploads import Upload
from strawberry.scalars import JSON

PREVIEW = "Render a quick preview: half the size, x264's fastest preset."
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

"""Mutation inputs. Field names are the public contract (SPEC.md)."""

from __future__ import annotations

import strawberry
from strawberry.file_uploads import Upload


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

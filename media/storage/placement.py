"""Which of a job's artifacts are public: one rule, by artifact kind, for every storage backend.

Images meant to be shared (a scene's generated image, a frame of a storyboard, an explainer's drawn visual,
the poster) live under "public/": a plain URL that does not expire, in Supabase the public bucket. Everything
else (videos, voice, subtitles, manifests, scripts, the user's own inputs and uploads) lives under "jobs/": a
signed URL minted on every read, in Supabase the private bucket. A new job kind picks the artifact kind; it
never chooses a bucket.
"""

from __future__ import annotations

from media.storage.base import PUBLIC_PREFIX, check_key

# The artifact kinds a job lists (Artifact.kind in the API) whose objects are public.
PUBLIC_KINDS = frozenset({"thumbnail", "visual", "image", "frame"})


def artifact_key(job_id: str, kind: str, name: str) -> str:
    """The deterministic key of a job's artifact: a rerun writes the same key, so it overwrites.

    `name` is the path inside the job's folder ("thumbnail.jpg", "visuals/scene-00.png")."""
    folder = f"{PUBLIC_PREFIX}jobs/{job_id}" if kind in PUBLIC_KINDS else f"jobs/{job_id}"
    return check_key(f"{folder}/{name}")

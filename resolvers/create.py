"""Every create mutation: its input's fields → the kind's params (jobs.kind.Kind.intake) → the job row, then
the queue. What is the same for every kind is done here, once:

- each upload (a file, or a list of files) is stored under jobs/<id>/uploads/ and becomes an InputRef;
- each `<name>Url` / `<name>Urls` field is checked (http(s), a host, no private address) and becomes an
  InputRef; a `<name>Url` and a `<name>` upload are merged into `<name>` (both given: CONFLICTING_INPUTS),
  `<name>Urls` and `<name>` uploads into one list, URLs first;
- `size` becomes `width` and `height` (UNKNOWN_SIZE otherwise), with the render settings;
- a kind with paid actions is refused with INSUFFICIENT_CREDITS when the balance cannot cover them.
- `webhookUrl` is not the kind's: checked like every webhook target, it is kept on the job row.

A refused request leaves none of its uploads behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from db.ids import new_id
from jobs.errors import UserError
from jobs.inputs import InputRef
from jobs.kinds import KINDS
from jobs.params import SIZE_PRESETS
from media.errors import MediaError
from media.inputs.fetch import SNIFF_BYTES, check_url, sniff
from resolvers.context import Context
from resolvers.credits import check_credits
from resolvers.idempotency import check_key
from resolvers.submit import submit
from resolvers.uploads import Upload, is_upload, safe_name, store_upload
from resolvers.views import JobView
from resolvers.webhooks import check_target


async def create_job(ctx: Context, kind_name: str, fields: Mapping[str, Any]) -> JobView:
    kind = KINDS[kind_name]
    key = check_key(fields.get("idempotency_key"))
    fields = dict(fields)
    webhook_url = fields.pop("webhook_url", None)
    if webhook_url is not None:
        webhook_url = await check_target(ctx, webhook_url, "webhookUrl")
    job_id = new_id()
    stored: dict[str, str] = {}  # storage key of each upload -> sha256 of its content
    try:
        values = await _collect(ctx, job_id, fields, stored)
        params = kind.intake(values, ctx.services.limits)
        await check_credits(ctx, kind, params, key)
    except BaseException:
        if stored:
            await ctx.services.storage.delete_prefix(f"jobs/{job_id}/")  # nothing half-stored survives
        raise
    return await submit(
        ctx, job_id, kind, params, idempotency_key=key, uploads=stored, webhook_url=webhook_url
    )


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


async def _collect(
    ctx: Context, job_id: str, fields: Mapping[str, Any], stored: dict[str, str]
) -> dict[str, Any]:
    max_bytes = ctx.services.limits.max_upload_bytes

    async def keep(upload: Upload, name: str, field: str) -> InputRef:
        key = f"jobs/{job_id}/uploads/{name}-{safe_name(upload.filename, 'file')}"
        head = _Head(upload)
        stored[key] = await store_upload(ctx.services.storage, head, key, max_bytes=max_bytes, field=field)
        found = sniff(head.data)
        return InputRef(upload_key=key, filename=upload.filename, sniffed=found[0] if found else "unknown")

    values: dict[str, Any] = {}
    for name, value in fields.items():
        if name == "idempotency_key":
            continue
        if is_upload(value):
            values[name] = await keep(value, name, camel(name))
        elif isinstance(value, list) and value and all(is_upload(v) for v in value):
            values[name] = [
                await keep(v, f"{name}-{i:02d}", f"{camel(name)}[{i}]") for i, v in enumerate(value)
            ]
        elif name.endswith("_urls") and isinstance(value, list):
            values[name] = [_url(v, f"{camel(name)}[{i}]") for i, v in enumerate(value)]
        elif name.endswith("_url") and isinstance(value, str):
            values[name] = _url(value, camel(name))
        else:
            values[name] = value
    _merge_pairs(values)
    if "size" in values:
        _resolve_size(values, ctx)
    return values


class _Head:
    """An upload that keeps its first bytes as they stream past, to tell what kind of file it is."""

    def __init__(self, upload: Upload) -> None:
        self.filename = upload.filename
        self._upload = upload
        self.data = b""

    async def read(self, size: int = -1) -> bytes:
        chunk = await self._upload.read(size)
        if len(self.data) < SNIFF_BYTES:
            self.data += chunk[: SNIFF_BYTES - len(self.data)]
        return chunk


def _url(value: str, field: str) -> InputRef:
    try:
        return InputRef(url=check_url(value.strip()))
    except MediaError as exc:
        raise UserError(exc.code, f"{field}: {exc.message}", field) from exc


def _merge_pairs(values: dict[str, Any]) -> None:
    for name in [n for n in values if n.endswith(("_url", "_urls"))]:
        urls = values.pop(name)
        if name.endswith("_urls"):
            base = name.removesuffix("_urls") + "s"
            values[base] = [*(urls or []), *(values.get(base) or [])]
            continue
        base = name.removesuffix("_url")
        if urls is not None and values.get(base) is not None:
            raise UserError(
                "CONFLICTING_INPUTS", f"give either {camel(name)} or {camel(base)}, not both", camel(base)
            )
        values[base] = urls if urls is not None else values.get(base)


def _resolve_size(values: dict[str, Any], ctx: Context) -> None:
    size = values.pop("size")
    if size not in SIZE_PRESETS:
        raise UserError("UNKNOWN_SIZE", f"size {size!r} is not one of {', '.join(SIZE_PRESETS)}", "size")
    limits = ctx.services.limits
    values["width"], values["height"] = SIZE_PRESETS[size]
    values.update(fps=limits.render_fps, preset=limits.render_preset, crf=limits.render_crf)

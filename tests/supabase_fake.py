"""A local stand-in for a Supabase project, on 127.0.0.1: the Storage endpoints the `supabase` client calls
and the Auth JWKS, speaking their documented shapes (supabase/storage's routes and error bodies, tus 1.0).

What it checks is what Supabase checks: the service key on every authenticated call, x-upsert before
overwriting, signed-URL tokens (HS256, a `url` claim naming bucket/path, `exp`), public buckets only at the
public path, tus offsets and 6 MiB chunks. Errors come as Supabase sends them: HTTP 400 with the real status
as a string in the body ({"statusCode": "404", "code": "NoSuchKey", "error": "not_found", ...}), HTTP 500 for
a 500. Tests read what was asked of it (`requests`), inject faults (`fail`), hold bucket creations until
several arrive at once (`create_barrier`), and move its clock (`clock_offset`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.conftest import free_port

SERVICE_KEY = "service-role-key-for-tests"
CHUNK = 6 * 1024 * 1024


@dataclass
class StoredObject:
    data: bytes
    content_type: str
    cache_control: str
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())


@dataclass
class Upload:  # a tus upload in progress
    bucket: str
    name: str
    length: int
    content_type: str
    cache_control: str
    upsert: bool
    data: bytearray = field(default_factory=bytearray)


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    form_content_type: str | None = None  # the multipart file part's own Content-Type


@dataclass
class Fault:
    method: str
    path_prefix: str
    status: int  # the real status; answered as Supabase does (400 with it in the body, or 500)
    times: int
    keep_bytes: int = 0  # for a tus PATCH: how much of the chunk the server keeps before failing
    after: int = 0  # matching requests answered normally before the fault starts


def error(status: int, code: str, error: str, message: str) -> JSONResponse:
    body = {"statusCode": str(status), "code": code, "error": error, "message": message}
    return JSONResponse(body, status_code=500 if status == 500 else 400)


def no_such_key() -> JSONResponse:
    return error(404, "NoSuchKey", "not_found", "Object not found")


def no_such_bucket() -> JSONResponse:
    return error(404, "NoSuchBucket", "Bucket not found", "Bucket not found")


class SupabaseFake:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.buckets: dict[str, dict[str, Any]] = {}
        self.objects: dict[tuple[str, str], StoredObject] = {}
        self.uploads: dict[str, Upload] = {}
        self.requests: list[Recorded] = []
        self.faults: list[Fault] = []
        self.clock_offset = 0.0
        self.create_barrier = 1  # bucket creations held until this many are in flight (bounded wait)
        self._creating = 0
        self._created = asyncio.Event()
        self.jwks: dict[str, Any] = {"keys": []}
        self.jwks_fetches = 0
        self.jwks_down = False
        self._secret = secrets.token_bytes(32)

    # --- the app ------------------------------------------------------------------------------------------

    def app(self) -> Starlette:
        s = "/storage/v1"
        return Starlette(
            routes=[
                Route("/auth/v1/.well-known/jwks.json", self.jwks_json),
                Route(f"{s}/bucket", self.create_bucket, methods=["POST"]),
                Route(f"{s}/bucket/{{id}}", self.get_bucket, methods=["GET"]),
                Route(f"{s}/bucket/{{id}}", self.update_bucket, methods=["PUT"]),
                Route(f"{s}/object/info/{{bucket}}/{{path:path}}", self.info, methods=["GET"]),
                Route(f"{s}/object/list/{{bucket}}", self.list, methods=["POST"]),
                Route(f"{s}/object/sign/{{bucket}}", self.sign_many, methods=["POST"]),
                Route(f"{s}/object/sign/{{bucket}}/{{path:path}}", self.sign, methods=["POST"]),
                Route(f"{s}/object/sign/{{bucket}}/{{path:path}}", self.signed_get, methods=["GET"]),
                Route(f"{s}/object/public/{{bucket}}/{{path:path}}", self.public_get, methods=["GET"]),
                Route(f"{s}/object/{{bucket}}", self.remove, methods=["DELETE"]),
                Route(f"{s}/object/{{bucket}}/{{path:path}}", self.upload, methods=["POST"]),
                Route(f"{s}/object/{{bucket}}/{{path:path}}", self.download, methods=["GET"]),
                Route(f"{s}/upload/resumable", self.tus_create, methods=["POST"]),
                Route(f"{s}/upload/resumable/{{id}}", self.tus_head, methods=["HEAD"]),
                Route(f"{s}/upload/resumable/{{id}}", self.tus_patch, methods=["PATCH"]),
            ],
            middleware=[],
        )

    def now(self) -> float:
        return time.time() + self.clock_offset

    def fail(
        self,
        method: str,
        path_prefix: str,
        status: int,
        times: int = 1,
        *,
        keep_bytes: int = 0,
        after: int = 0,
    ) -> None:
        self.faults.append(Fault(method, f"/storage/v1/{path_prefix}", status, times, keep_bytes, after))

    def requests_to(self, method: str, path_prefix: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    async def _record(self, request: Request) -> Recorded:
        body = await request.body()
        recorded = Recorded(request.method, request.url.path, dict(request.headers), body)
        self.requests.append(recorded)
        return recorded

    def _fault(self, request: Request) -> Fault | None:
        for fault in self.faults:
            if (
                fault.times > 0
                and fault.method == request.method
                and request.url.path.startswith(fault.path_prefix)
            ):
                if fault.after > 0:
                    fault.after -= 1
                    continue
                fault.times -= 1
                return fault
        return None

    def _refused(self, request: Request) -> Response | None:
        if (
            request.headers.get("authorization") != f"Bearer {SERVICE_KEY}"
            or request.headers.get("apikey") != SERVICE_KEY
        ):
            return error(400, "InvalidJWT", "InvalidJWT", "invalid signature")
        return None

    async def _guard(self, request: Request) -> tuple[Recorded, Response | None]:
        recorded = await self._record(request)
        fault = self._fault(request)
        if fault is not None:
            return recorded, error(fault.status, "InternalError", "Internal", "injected fault")
        return recorded, self._refused(request)

    # --- auth ---------------------------------------------------------------------------------------------

    async def jwks_json(self, request: Request) -> Response:
        self.jwks_fetches += 1
        if self.jwks_down:
            return JSONResponse({"message": "unavailable"}, status_code=503)
        return JSONResponse(self.jwks)

    # --- buckets ------------------------------------------------------------------------------------------

    async def create_bucket(self, request: Request) -> Response:
        _, refused = await self._guard(request)
        if refused:
            return refused
        body = await request.json()
        self._creating += 1
        if self._creating >= self.create_barrier:
            self._created.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._created.wait(), 5)
        if body["id"] in self.buckets:
            return error(409, "BucketAlreadyExists", "Duplicate", "The resource already exists")
        now = datetime.now(UTC).isoformat()
        self.buckets[body["id"]] = {
            "id": body["id"],
            "name": body.get("name", body["id"]),
            "owner": "",
            "public": bool(body.get("public", False)),
            "created_at": now,
            "updated_at": now,
            "file_size_limit": body.get("file_size_limit"),
            "allowed_mime_types": body.get("allowed_mime_types"),
        }
        return JSONResponse({"name": body["id"]})

    async def get_bucket(self, request: Request) -> Response:
        _, refused = await self._guard(request)
        if refused:
            return refused
        bucket = self.buckets.get(request.path_params["id"])
        return JSONResponse(bucket) if bucket else no_such_bucket()

    async def update_bucket(self, request: Request) -> Response:
        _, refused = await self._guard(request)
        if refused:
            return refused
        bucket = self.buckets.get(request.path_params["id"])
        if bucket is None:
            return no_such_bucket()
        body = await request.json()
        bucket["public"] = bool(body.get("public", bucket["public"]))
        return JSONResponse({"message": "Successfully updated"})

    # --- objects ------------------------------------------------------------------------------------------

    async def upload(self, request: Request) -> Response:
        recorded, refused = await self._guard(request)
        if refused:
            return refused
        bucket, path = request.path_params["bucket"], request.path_params["path"]
        if bucket not in self.buckets:
            return no_such_bucket()
        form = await request.form()
        part = form["file"]
        assert not isinstance(part, str)
        recorded.form_content_type = part.content_type
        data = await part.read()
        upsert = request.headers.get("x-upsert") == "true"
        if (bucket, path) in self.objects and not upsert:
            return error(409, "KeyAlreadyExists", "Duplicate", "The resource already exists")
        cache = form.get("cacheControl")
        self.objects[(bucket, path)] = StoredObject(
            data, part.content_type or "text/plain", str(cache or "no-cache")
        )
        return JSONResponse({"Id": self.objects[(bucket, path)].id, "Key": f"{bucket}/{path}"})

    async def download(self, request: Request) -> Response:
        _, refused = await self._guard(request)
        if refused:
            return refused
        found = self.objects.get((request.path_params["bucket"], request.path_params["path"]))
        if found is None:
            return no_such_key()
        return Response(found.data, media_type=found.content_type)

    async def info(self, request: Request) -> Response:
        _, refused = await self._guard(request)
        if refused:
            return refused
        bucket, path = request.path_params["bucket"], request.path_params["path"]
        found = self.objects.get((bucket, path))
        if found is None:
            return no_such_key()
        return JSONResponse(
            {
                "id": found.id,
                "name": path,
                "bucket_id": bucket,
                "size": len(found.data),
                "content_type": found.content_type,
                "cache_control": found.cache_control,
                "created_at": found.at,
                "updated_at": found.at,
            }
        )

    async def list(self, request: Request) -> Response:
        _, refused = await self._guard(request)
        if refused:
            return refused
        bucket = request.path_params["bucket"]
        if bucket not in self.buckets:
            return no_such_bucket()
        body = await request.json()
        prefix = body.get("prefix", "").strip("/")
        start = f"{prefix}/" if prefix else ""
        entries: dict[str, dict[str, Any]] = {}
        for (b, name), found in self.objects.items():
            if b != bucket or not name.startswith(start):
                continue
            head, slash, _ = name[len(start) :].partition("/")
            if slash:
                entries.setdefault(head, {"name": head, "id": None, "metadata": None})
            else:
                entries[head] = {
                    "name": head,
                    "id": found.id,
                    "updated_at": found.at,
                    "created_at": found.at,
                    "metadata": {"size": len(found.data), "mimetype": found.content_type},
                }
        ordered = [entries[k] for k in sorted(entries)]
        offset, limit = int(body.get("offset", 0)), int(body.get("limit", 100))
        return JSONResponse(ordered[offset : offset + limit])

    async def remove(self, request: Request) -> Response:
        _, refused = await self._guard(request)
        if refused:
            return refused
        bucket = request.path_params["bucket"]
        removed = []
        for name in (await request.json())["prefixes"]:
            if self.objects.pop((bucket, name), None) is not None:
                removed.append({"name": name, "bucket_id": bucket})
        return JSONResponse(removed)

    # --- URLs ---------------------------------------------------------------------------------------------

    def _token(self, bucket: str, path: str, expires_in: int) -> str:
        issued = int(self.now())
        claims = {"url": f"{bucket}/{path}", "iat": issued, "exp": issued + expires_in}
        return jwt.encode(claims, self._secret, algorithm="HS256")

    async def sign(self, request: Request) -> Response:
        _, refused = await self._guard(request)
        if refused:
            return refused
        bucket, path = request.path_params["bucket"], request.path_params["path"]
        if (bucket, path) not in self.objects:
            return no_such_key()
        expires_in = int((await request.json())["expiresIn"])
        return JSONResponse(
            {"signedURL": f"/object/sign/{bucket}/{path}?token={self._token(bucket, path, expires_in)}"}
        )

    async def sign_many(self, request: Request) -> Response:
        _, refused = await self._guard(request)
        if refused:
            return refused
        bucket = request.path_params["bucket"]
        body = await request.json()
        expires_in = int(body["expiresIn"])
        answer = []
        for path in body["paths"]:
            if (bucket, path) in self.objects:
                token = self._token(bucket, path, expires_in)
                answer.append(
                    {"error": None, "path": path, "signedURL": f"/object/sign/{bucket}/{path}?token={token}"}
                )
            else:
                message = "Either the object does not exist or you do not have access to it"
                answer.append({"error": message, "path": path, "signedURL": None})
        return JSONResponse(answer)

    async def signed_get(self, request: Request) -> Response:
        await self._record(request)
        bucket, path = request.path_params["bucket"], request.path_params["path"]
        try:
            claims = jwt.decode(
                request.query_params.get("token", ""),
                self._secret,
                algorithms=["HS256"],
                options={"verify_exp": False, "require": ["exp", "url"]},
            )
        except jwt.InvalidTokenError:
            return error(400, "InvalidJWT", "InvalidJWT", "invalid signature")
        if claims["exp"] <= self.now():
            return error(400, "InvalidJWT", "InvalidJWT", "jwt expired")
        if claims["url"] != f"{bucket}/{path}":
            return error(400, "InvalidSignature", "InvalidSignature", "url mismatch")
        found = self.objects.get((bucket, path))
        return Response(found.data, media_type=found.content_type) if found else no_such_key()

    async def public_get(self, request: Request) -> Response:
        await self._record(request)
        bucket, path = request.path_params["bucket"], request.path_params["path"]
        if not self.buckets.get(bucket, {}).get("public"):
            return no_such_bucket()
        found = self.objects.get((bucket, path))
        return Response(found.data, media_type=found.content_type) if found else no_such_key()

    # --- tus ----------------------------------------------------------------------------------------------

    async def tus_create(self, request: Request) -> Response:
        _, refused = await self._guard(request)
        if refused:
            return refused
        pairs = (pair.partition(" ") for pair in request.headers["upload-metadata"].split(","))
        meta = {k: base64.b64decode(v).decode() for k, _, v in pairs}
        bucket, name = meta["bucketName"], meta["objectName"]
        if bucket not in self.buckets:
            return no_such_bucket()
        upsert = request.headers.get("x-upsert") == "true"
        if (bucket, name) in self.objects and not upsert:
            return error(409, "KeyAlreadyExists", "Duplicate", "The resource already exists")
        upload_id = uuid.uuid4().hex
        self.uploads[upload_id] = Upload(
            bucket,
            name,
            int(request.headers["upload-length"]),
            meta.get("contentType", "text/plain"),
            meta.get("cacheControl", "no-cache"),
            upsert,
        )
        location = f"{self.url}/storage/v1/upload/resumable/{upload_id}"
        return Response(status_code=201, headers={"Location": location, "Tus-Resumable": "1.0.0"})

    async def tus_head(self, request: Request) -> Response:
        _, refused = await self._guard(request)
        if refused:
            return refused
        upload = self.uploads.get(request.path_params["id"])
        if upload is None:
            return Response(status_code=404)
        headers = {
            "Upload-Offset": str(len(upload.data)),
            "Upload-Length": str(upload.length),
            "Cache-Control": "no-store",
            "Tus-Resumable": "1.0.0",
        }
        return Response(status_code=200, headers=headers)

    async def tus_patch(self, request: Request) -> Response:
        recorded = await self._record(request)
        upload = self.uploads.get(request.path_params["id"])
        if upload is None:
            return Response(status_code=404)
        refused = self._refused(request)
        if refused:
            return refused
        if request.headers.get("content-type") != "application/offset+octet-stream":
            return Response("bad content type", status_code=415)
        if int(request.headers["upload-offset"]) != len(upload.data):
            return Response("offset mismatch", status_code=409)
        chunk = recorded.body
        fault = self._fault(request)
        if fault is not None:
            upload.data += chunk[: fault.keep_bytes]  # what reached the server before the failure
            return error(fault.status, "InternalError", "Internal", "injected fault")
        final = len(upload.data) + len(chunk) == upload.length
        if len(chunk) != CHUNK and not final:
            return Response(f"chunks must be {CHUNK} bytes", status_code=400)
        upload.data += chunk
        if final:
            self.objects[(upload.bucket, upload.name)] = StoredObject(
                bytes(upload.data), upload.content_type, upload.cache_control
            )
        return Response(
            status_code=204, headers={"Upload-Offset": str(len(upload.data)), "Tus-Resumable": "1.0.0"}
        )


@contextlib.asynccontextmanager
async def running(fake: SupabaseFake | None = None) -> AsyncIterator[SupabaseFake]:
    """The fake served by uvicorn on this event loop for the length of the block."""
    fake = fake or SupabaseFake()
    server = uvicorn.Server(
        uvicorn.Config(fake.app(), host="127.0.0.1", port=fake.port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(20):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.02)
        yield fake
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 20)

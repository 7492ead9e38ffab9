"""`clipforge make <kind> …`: create a job on a server, follow it with a progress bar, download the video.

Exit status: 0 completed; 1 the job failed (its error code is printed); 2 a usage error; 3 the server refused
the input; 4 the job was cancelled; 5 no valid API key; 6 the server could not be reached or used;
130 interrupted, the job left running.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from clipforge.make.args import InputProblem, kind_parser
from clipforge.make.client import Client, ConnectionLost, ServerError, Unauthenticated
from clipforge.make.kinds import SCHEMA_QUERY, Kind, Schema, local_schema
from clipforge.make.progress import Display, make_display

COMPLETED, FAILED, USAGE, REFUSED, CANCELLED, UNAUTHENTICATED, UNREACHABLE, INTERRUPTED = (
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    130,
)
EXIT_BY_STATUS = {"COMPLETED": COMPLETED, "FAILED": FAILED, "CANCELLED": CANCELLED}
MAX_RECONNECTS = 8

JOB_FIELDS = """id kind status stage progress message videoUrl thumbnailUrl subtitlesUrl costUsd
  creditsCharged error { code message } artifacts { kind url contentType bytes stage } createdAt updatedAt"""
PROGRESS = """subscription($jobId: ID!, $afterSeq: Int) { jobProgress(jobId: $jobId, afterSeq: $afterSeq) {
  seq status stage stageIndex stageCount progress message etaSeconds } }"""
JOB = f"query($id: ID!) {{ job(id: $id) {{ {JOB_FIELDS} }} }}"
CANCEL = f"""mutation($id: ID!) {{ cancelJob(id: $id) {{ __typename ... on Job {{ {JOB_FIELDS} }}
  ... on Problem {{ code message }} }} }}"""


def default_server() -> str:
    host = os.environ.get("HOST", "127.0.0.1")
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return os.environ.get("CLIPFORGE_SERVER") or f"http://{host}:{os.environ.get('PORT', '8000')}"


def common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--server", default=default_server(), help="the clipforge API (default: %(default)s)")
    common.add_argument(
        "-o", "--out", type=Path, help="where to save the video (default: <kind>-<job id>.mp4)"
    )
    common.add_argument("--json", action="store_true", help="print the outcome as one JSON object on stdout")
    common.add_argument(
        "--progress", choices=["auto", "bar", "lines", "none"], default="auto",
        help="bar on a terminal, lines in a log (auto: by whether stderr is a terminal)",
    )  # fmt: skip
    common.add_argument("--no-wait", action="store_true", help="create the job, print it and exit")
    common.add_argument("--no-download", action="store_true", help="follow the job but do not save the video")
    return common


@dataclass
class Outcome:
    code: int
    report: dict[str, Any]
    interrupted_job: str | None = None  # Ctrl-C while following this job


class Run:
    def __init__(self, args: argparse.Namespace, kind: Kind, console: Console) -> None:
        self.args = args
        self.kind = kind
        self.console = console
        self.api_key = os.environ.get("CLIPFORGE_API_KEY") or None

    def client(self, http: httpx.AsyncClient) -> Client:
        return Client(self.args.server, self.api_key, http)

    async def create_and_follow(self, schema: Schema, input_: dict[str, Any], files: list[Any]) -> Outcome:
        async with httpx.AsyncClient(timeout=httpx.Timeout(60, connect=10)) as http:
            client = self.client(http)
            query = (
                f"mutation($input: {self.kind.arg_type}) {{ {self.kind.mutation}(input: $input) "
                f"{{ {schema.result_selection(self.kind, JOB_FIELDS)} }} }}"
            )
            answer = (await client.execute(query, {"input": input_}, files))[self.kind.mutation]
            if answer["__typename"] != "Job":
                problem = {k: v for k, v in answer.items() if k != "__typename"}
                return Outcome(REFUSED, {"error": problem})
            job_id = answer["id"]
            self.console.print(
                f"job {job_id} ({self.kind.id}) created on {self.args.server}", highlight=False
            )
            if self.args.no_wait:
                return Outcome(COMPLETED, {"job": answer})
            return await self.follow(client, job_id)

    async def follow(self, client: Client, job_id: str) -> Outcome:
        interrupted = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, interrupted.set)
        display = make_display(self.args.progress, self.console, self.kind.id)
        watch = asyncio.create_task(self._watch(client, job_id, display))
        stop = asyncio.create_task(interrupted.wait())
        try:
            await asyncio.wait({watch, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            loop.remove_signal_handler(signal.SIGINT)
            stop.cancel()
            display.close()
        if not watch.done():
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionLost, ServerError):
                await watch
            return Outcome(INTERRUPTED, {"job": {"id": job_id}}, interrupted_job=job_id)
        watch.result()  # a server error while following: raised to run()
        return await self.finish(client, job_id)

    async def _watch(self, client: Client, job_id: str, display: Display) -> None:
        last: int | None = None
        failures = 0
        while True:
            try:
                async for data in client.subscribe(PROGRESS, {"jobId": job_id, "afterSeq": last}):
                    event = data["jobProgress"]
                    last, failures = event["seq"], 0
                    display.update(event)
                return
            except ConnectionLost as err:
                failures += 1
                if failures > MAX_RECONNECTS:
                    raise ServerError("CONNECTION_LOST", f"lost the server {failures} times: {err}") from err
                # the stream resumes after the last event seen (afterSeq): nothing repeated, nothing lost
                await asyncio.sleep(min(10.0, 0.25 * 2**failures))

    async def finish(self, client: Client, job_id: str) -> Outcome:
        job = (await client.execute(JOB, {"id": job_id}))["job"]
        report: dict[str, Any] = {"job": job}
        code = EXIT_BY_STATUS.get(job["status"], FAILED)
        if job["status"] == "COMPLETED" and job.get("videoUrl") and not self.args.no_download:
            out = self.args.out or Path(f"{self.kind.id}-{job_id}.mp4")
            if out.is_dir():
                out = out / f"{self.kind.id}-{job_id}.mp4"
            size = await client.download(job["videoUrl"], out)
            report.update(output=str(out.resolve()), bytes=size)
        return Outcome(code, report)

    async def cancel(self, job_id: str) -> Outcome:
        async with httpx.AsyncClient(timeout=30) as http:
            client = self.client(http)
            answer = (await client.execute(CANCEL, {"id": job_id}))["cancelJob"]
            if answer["__typename"] == "Job":
                return Outcome(CANCELLED, {"job": answer})
            # it ended on its own meanwhile (JOB_FINISHED): report how
            return await self.finish(client, job_id)


def ask_to_cancel(job_id: str) -> bool:
    print(f"\nInterrupted. Cancel job {job_id} on the server? [y/N] ", end="", file=sys.stderr, flush=True)
    try:
        answer = sys.stdin.readline()
    except KeyboardInterrupt:
        return False
    return answer.strip().lower() in ("y", "yes")


async def read_schema(client_args: argparse.Namespace, console: Console) -> Schema:
    async with httpx.AsyncClient(timeout=30) as http:
        client = Client(client_args.server, os.environ.get("CLIPFORGE_API_KEY") or None, http)
        try:
            return Schema(await client.execute(SCHEMA_QUERY))
        except ServerError as err:
            if err.code != "INTROSPECTION_DISABLED":
                raise
    console.print("the server hides its schema; using this installation's own", style="yellow")
    return local_schema()


def report(outcome: Outcome, args: argparse.Namespace, console: Console) -> int:
    if args.json:
        print(json.dumps({"exitCode": outcome.code, **outcome.report}, indent=2))
        return outcome.code
    job = outcome.report.get("job") or {}
    error = job.get("error") or outcome.report.get("error")
    if outcome.code == INTERRUPTED:
        console.print(f"job {job.get('id')} keeps running on the server", highlight=False)
    elif job.get("status"):
        console.print(f"job {job['id']}: {job['status']}", highlight=False)
    if error:
        console.print(f"[red]{error.get('code')}[/red]: {error.get('message')}", highlight=False)
        for problem in error.get("problems") or []:
            console.print(f"  {problem['path']}: {problem['message']}", highlight=False)
    if "output" in outcome.report:
        print(outcome.report["output"])  # the one line on stdout: where the video is
    elif args.no_wait and job.get("id"):
        print(job["id"])
    return outcome.code


def fail(err: ServerError, args: argparse.Namespace, console: Console, exit_code: int | None = None) -> int:
    if exit_code is None:
        exit_code = UNAUTHENTICATED if isinstance(err, Unauthenticated) else UNREACHABLE
    return report(Outcome(exit_code, {"error": {"code": err.code, "message": err.message}}), args, console)


def main(argv: list[str]) -> int:
    common = common_options()
    first = argparse.ArgumentParser(prog="clipforge make", parents=[common], add_help=False)
    first.add_argument("kind", nargs="?")
    first.add_argument("-h", "--help", action="store_true")
    args, rest = first.parse_known_args(argv)
    console = Console(stderr=True, soft_wrap=True, force_terminal=True if args.progress == "bar" else None)
    try:
        schema = asyncio.run(read_schema(args, console))
    except ServerError as err:
        return fail(err, args, console)
    kind = schema.kind(args.kind) if args.kind else None
    if kind is None:
        names = ", ".join(k.id for k in schema.kinds)
        if args.help or not args.kind:
            print(f"usage: clipforge make <kind> [options]   (kinds on {args.server}: {names})")
            print("run `clipforge make <kind> --help` for a kind's options")
            return 0 if args.help else USAGE
        unknown = ServerError("UNKNOWN_KIND", f"no kind {args.kind!r} on {args.server}; it has: {names}")
        return fail(unknown, args, console, USAGE)
    built = kind_parser(schema, kind, f"clipforge make {kind.id}", [common])
    if args.help:
        built.parser.print_help()
        return 0
    args = built.parser.parse_args(rest, namespace=args)
    try:
        input_, files = built.to_input(args)
    except InputProblem as err:
        console.print(f"clipforge make: {err}", style="red", highlight=False)
        return USAGE
    if any(f.name == "idempotencyKey" for f in schema.input_fields(kind.input_type)):
        input_["idempotencyKey"] = str(uuid.uuid4())
    run = Run(args, kind, console)
    try:
        outcome = asyncio.run(run.create_and_follow(schema, input_, files))
        while outcome.interrupted_job is not None:
            if not ask_to_cancel(outcome.interrupted_job):
                break
            outcome = asyncio.run(run.cancel(outcome.interrupted_job))
    except KeyboardInterrupt:
        # while sending the input or saving the video; a job being followed is asked about instead
        return fail(ServerError("INTERRUPTED", "interrupted"), args, console, INTERRUPTED)
    except ServerError as err:
        return fail(err, args, console)
    return report(outcome, args, console)

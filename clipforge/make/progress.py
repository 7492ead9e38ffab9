"""How `clipforge make` shows a job's progress on stderr: a rich progress bar on a terminal, one line per
change of stage or status (and every 10 %) in a log, or nothing."""

from __future__ import annotations

import time
from typing import Any, Protocol

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

ACTIVE = ("QUEUED", "PROCESSING")


def stage_label(event: dict[str, Any]) -> str:
    stage = event.get("stage") or event["status"].lower()
    count = event.get("stageCount") or 0
    return f"{stage} {event.get('stageIndex', 0) + 1}/{count}" if count and event.get("stage") else stage


def eta_label(event: dict[str, Any]) -> str:
    eta = event.get("etaSeconds")
    if eta is None or event["status"] not in ACTIVE:
        return ""
    seconds = max(0, round(eta))
    return f"ETA {seconds // 60}:{seconds % 60:02d}"


class Display(Protocol):
    def update(self, event: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class Bar:
    """slideshow  render 3/4 ━━━━━━━━━━━━━━  45% ETA 0:12 PROCESSING (the ETA is the server's estimate)."""

    def __init__(self, console: Console, title: str) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            TextColumn("{task.fields[stage]}", style="cyan"),
            BarColumn(bar_width=None),
            TaskProgressColumn(),
            TextColumn("{task.fields[eta]}"),
            TextColumn("{task.fields[status]}", style="dim"),
            console=console,
            transient=False,
            refresh_per_second=8,
        )
        self.task = self.progress.add_task(title, total=100, stage="", eta="", status="QUEUED")
        self.progress.start()

    def update(self, event: dict[str, Any]) -> None:
        self.progress.update(
            self.task,
            completed=event["progress"],
            stage=stage_label(event),
            eta=eta_label(event),
            status=event["status"],
        )

    def close(self) -> None:
        self.progress.stop()


class Lines:
    """For logs and pipes: a line when the stage or status changes, and at every tenth of the way."""

    def __init__(self, console: Console, title: str) -> None:
        self.console = console
        self.title = title
        self.last: tuple[str, str, int] | None = None
        self.started = time.monotonic()

    def update(self, event: dict[str, Any]) -> None:
        key = (event["status"], stage_label(event), int(event["progress"] // 10))
        if key == self.last:
            return
        self.last = key
        elapsed = time.monotonic() - self.started
        parts = [
            f"{elapsed:6.1f}s",
            self.title,
            event["status"],
            stage_label(event),
            f"{event['progress']:.0f}%",
        ]
        if eta := eta_label(event):
            parts.append(eta)
        self.console.print("  ".join(parts), highlight=False, soft_wrap=True)

    def close(self) -> None:
        pass


class Quiet:
    def update(self, event: dict[str, Any]) -> None:
        pass

    def close(self) -> None:
        pass


def make_display(mode: str, console: Console, title: str) -> Display:
    if mode == "auto":
        mode = "bar" if console.is_terminal else "lines"
    if mode == "bar":
        return Bar(console, title)
    if mode == "lines":
        return Lines(console, title)
    return Quiet()

"""Execute once, send many: sockets that follow the same job's progress with the same document and variables,
as the same user, share one GraphQL execution. Each result is serialised once, and every socket gets the same
bytes behind its own operation id: exactly the frame strawberry would have sent it.

A `Channel` runs one strawberry subscription per (user, document, variables, operation name), with a context
of its own whose `tap` tells it which progress state each result stands for. Its sockets ("viewers") each
keep only the index of the last result they sent: a viewer that cannot keep up gets the newest result next
(a progress event is a state), but never skips a stage change or the end. Ownership is checked by the
channel's own execution against the channel's user, who is every one of its viewers.

Only operations whose one root field streams states (jobProgress) are shared; anything else, and any
document we cannot read, runs on strawberry's own path, which also gives every error its usual answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, cast

from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, parse
from starlette.websockets import WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.schema import BaseSchema
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
    _OperationStreamClosed,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import Message
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.utils.aio import aclosing

from jobs.events import ProgressEvent
from jobs.feed import Feeds, changes_stage
from resolvers.context import Context

log = logging.getLogger(__name__)

STATE_STREAMS = frozenset({"jobProgress"})  # root fields whose events are whole states (conflation is safe)
KEPT = 32  # results a lagging viewer may still be owed besides the newest: the stage changes and the end
JOIN_WITHIN_SECONDS = 60.0  # a newcomer's snapshot is never older than this (signed URLs inside expire)
KEEP_FINISHED_SECONDS = 5.0  # a channel that ended with its job serves newcomers this long
Key = tuple[str, str, str, str | None]  # user, document, variables (canonical JSON), operation name
Handler = BaseGraphQLTransportWSHandler[Context, None]


@lru_cache(maxsize=512)
def streams_states(query: str, operation_name: str | None, max_tokens: int) -> bool:
    """Whether the operation is a subscription to exactly one state stream (with or without an alias)."""
    try:
        document = parse(query, no_location=True, max_tokens=max_tokens)
    except GraphQLError:
        return False
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name is not None and o.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation != OperationType.SUBSCRIPTION:
        return False
    selections = operations[0].selection_set.selections
    return (
        len(selections) == 1
        and isinstance(selections[0], FieldNode)
        and selections[0].name.value in STATE_STREAMS
        and not selections[0].directives
    )


@dataclass(frozen=True)
class Result:
    index: int
    kind: Literal["next", "refused", "incremental"]
    payload: str = ""  # "next": the serialised payload, the same for every viewer
    refusal: PreExecutionError | None = None  # "refused": the pre-execution error, handled per viewer
    owed: bool = True  # a stage change, the end, or an error: a lagging viewer still gets it


class _Recorder:
    """Stands in for a handler so strawberry's own Operation.send_next builds the `next` message."""

    def __init__(self) -> None:
        self.sent: Message | None = None

    async def send_message(self, message: Message) -> None:
        self.sent = message


async def next_payload(result: ExecutionResult, encode: Callable[[object], str | bytes]) -> str:
    recorder = _Recorder()
    operation = Operation(cast(Handler, recorder), "", "", None, None)
    await operation.send_next(result)
    assert recorder.sent is not None and recorder.sent["type"] == "next"
    encoded = encode(recorder.sent["payload"])
    return encoded.decode() if isinstance(encoded, bytes) else encoded


class Channel:
    """One shared execution and the results it has made that a viewer may still be owed."""

    def __init__(self, broadcast: Broadcast, key: Key, schema: BaseSchema, context: Context, query: str,
                 variables: dict[str, Any] | None, operation_name: str | None) -> None:  # fmt: skip
        self.broadcast, self.key = broadcast, key
        self.latest: Result | None = None
        self.latest_at = time.monotonic()
        self.owed: deque[Result] = deque(maxlen=KEPT)
        self.finished = False
        self.final: ProgressEvent | None = None  # the terminal state the newest result stands for
        self.viewers = 0
        self.changed = asyncio.Event()
        self._tapped: ProgressEvent | None = None
        self._previous: ProgressEvent | None = None
        context.tap = self._tap
        self.task = asyncio.create_task(
            self._run(schema, context, query, variables, operation_name), name="broadcast-channel"
        )

    def _tap(self, event: ProgressEvent) -> None:
        self._tapped = event

    def next_after(self, index: int) -> Result | None:
        latest = self.latest
        if index < 0 or latest is None:
            return latest  # a newcomer starts from the newest state: its snapshot
        if latest.index <= index + 1:  # the usual case, a viewer that keeps up: nothing skipped
            return latest if latest.index > index else None
        for result in self.owed:  # it fell behind: the first stage change (or end) it has not seen
            if result.index > index:
                return result
        return latest

    def joinable(self, feeds: Feeds) -> bool:
        """Whether a newcomer may take this channel's newest result as its snapshot."""
        if not self.finished:
            return time.monotonic() - self.latest_at <= JOIN_WITHIN_SECONDS
        # It ended with the job: still the truth while the job's feed has seen nothing newer (a retry), so a
        # crowd arriving just after the end (everyone opening "your video is ready") costs no executions.
        return self.final is not None and feeds.newest_seq(self.final.job_id) == self.final.seq

    def _publish(self, result: Result) -> None:
        if result.owed and self.latest is not None:
            self.owed.append(result)
        self.latest, self.latest_at = result, time.monotonic()
        self.changed.set()  # wakes every viewer waiting now; clear() makes the next wait block again
        self.changed.clear()

    async def _run(self, schema: BaseSchema, context: Context, query: str, variables: dict[str, Any] | None,
                   operation_name: str | None) -> None:  # fmt: skip
        try:
            source = await schema.subscribe(
                query, variable_values=variables, context_value=context, operation_name=operation_name
            )
            async with aclosing(source):
                index = 0
                async for result in source:
                    event, self._tapped = self._tapped, None
                    if index == 0 and isinstance(result, PreExecutionError):
                        self._publish(Result(index, "refused", refusal=result))
                        break
                    if not isinstance(result, ExecutionResult):
                        self._publish(Result(index, "incremental"))
                        break
                    payload = await next_payload(result, self.broadcast.encode)
                    # A result no state was tapped for is an error from the resolver: never skipped.
                    owed = event is None or changes_stage(self._previous, event)
                    self._previous = event or self._previous
                    self.final = event if event is not None and event.terminal else None
                    self._publish(Result(index, "next", payload, owed=owed))
                    index += 1
        except Exception:  # noqa: BLE001 - strawberry turns resolver errors into results; this is a bug
            log.exception("shared subscription failed (%s)", self.key[3] or "anonymous")
        finally:
            self.finished = True
            if self.final is None:
                self.broadcast.forget(self)
            else:  # kept a little for newcomers (see joinable)
                asyncio.get_running_loop().call_later(KEEP_FINISHED_SECONDS, self.broadcast.forget, self)
            self.changed.set()


class Broadcast:
    """The channels of this API process, by key."""

    def __init__(self, encode: Callable[[object], str | bytes], *, enabled: bool, max_tokens: int) -> None:
        self.encode, self.enabled, self.max_tokens = encode, enabled, max_tokens
        self.channels: dict[Key, Channel] = {}

    def key_for(self, handler: Handler, operation: Operation[Context, None]) -> Key | None:
        if not self.enabled or not streams_states(operation.query, operation.operation_name, self.max_tokens):
            return None
        try:
            variables = json.dumps(operation.variables, sort_keys=True, separators=(",", ":"))
        except (TypeError, ValueError):
            return None
        return (handler.context.user_id, operation.query, variables, operation.operation_name)

    def forget(self, channel: Channel) -> None:
        if self.channels.get(channel.key) is channel:
            del self.channels[channel.key]

    def _join(self, handler: Handler, operation: Operation[Context, None], key: Key) -> Channel:
        channel = self.channels.get(key)
        if channel is None or not channel.joinable(handler.context.services.feeds):
            # The channel's context is its own, not a socket's: it outlives whichever viewer came first.
            context = Context(services=handler.context.services, user_id=handler.context.user_id)
            channel = Channel(
                self,
                key,
                handler.schema,
                context,
                operation.query,
                operation.variables,
                operation.operation_name,
            )
            self.channels[key] = channel
        channel.viewers += 1
        return channel

    def _leave(self, channel: Channel) -> None:
        channel.viewers -= 1
        if channel.viewers == 0 and not channel.finished:
            self.forget(channel)
            channel.task.cancel()  # no one is left to send to: end the execution (and free its feed)

    async def serve(self, handler: Handler, operation: Operation[Context, None], key: Key) -> None:
        """The operation's task, as strawberry's run_operation would be: results, then `complete`."""
        websocket = handler.websocket
        assert isinstance(websocket, ASGIWebSocketAdapter)
        send_text = websocket.ws.send_text
        head = '{"id":' + json.dumps(operation.id) + ',"type":"next","payload":'
        channel = self._join(handler, operation, key)
        sent = -1
        try:
            while True:
                result = channel.next_after(sent)
                if result is None:
                    if channel.finished:
                        break
                    await channel.changed.wait()
                    continue
                sent = result.index
                if operation.completed:
                    return
                if result.kind == "next":
                    await send_text(head + result.payload + "}")
                elif result.kind == "refused":
                    assert result.refusal is not None
                    await handler._handle_pre_execution_error(operation, result.refusal)
                else:
                    await handler._reject_incremental_delivery(operation)
            await operation.send_operation_message({"id": operation.id, "type": "complete"})
        except WebSocketDisconnect:
            return  # the client went away while we sent: its handler is shutting down
        except RuntimeError:
            if websocket.ws.application_state != WebSocketState.DISCONNECTED:
                raise
            return  # starlette refuses to send on a socket this app has closed (another operation did)
        except _OperationStreamClosed:
            return  # a refusal closed the socket, as strawberry does for an unparsable document
        finally:
            self._leave(channel)


__all__ = ["Broadcast", "Channel", "streams_states"]

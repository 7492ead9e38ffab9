"""Webhooks in the GraphQL API: createWebhook, webhooks, deleteWebhook, webhookDeliveries and
webhookSigningSecret (merged into Query and Mutation by schema.build_schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from resolvers import webhooks as resolvers
from resolvers.errors import UserError
from resolvers.webhooks import AttemptView, DeliveryView, WebhookView
from schema.errors import InvalidInput, NotFound, ServiceUnavailable, create_problem, graphql_error, problem
from schema.info import Info


@strawberry.type(description="An endpoint that hears about every one of your jobs that ends.")
class Webhook:
    id: strawberry.ID
    url: str
    description: str
    created_at: datetime

    @classmethod
    def from_view(cls, v: WebhookView) -> Webhook:
        return cls(id=strawberry.ID(v.id), url=v.url, description=v.description, created_at=v.created_at)


@strawberry.type(description="A new webhook and its signing secret, shown this once: store it now.")
class WebhookCreated:
    webhook: Webhook
    secret: str = strawberry.field(
        description="whsec_…: verify each delivery's webhook-signature with it (a Standard Webhooks library)."
    )


@strawberry.type
class WebhookAttempt:
    number: int
    started_at: datetime
    finished_at: datetime | None
    status_code: int | None = strawberry.field(description="The receiver's HTTP status, when it answered.")
    error: str | None
    duration_ms: int | None

    @classmethod
    def from_view(cls, v: AttemptView) -> WebhookAttempt:
        return cls(
            number=v.number,
            started_at=v.started_at,
            finished_at=v.finished_at,
            status_code=v.status_code,
            error=v.error,
            duration_ms=v.duration_ms,
        )


@strawberry.type(description="One message about a job's end to one URL, and every attempt to deliver it.")
class WebhookDelivery:
    id: strawberry.ID = strawberry.field(description="The webhook-id header, the same on every attempt.")
    job_id: strawberry.ID
    webhook_id: strawberry.ID | None = strawberry.field(description="None: the job's own webhookUrl.")
    url: str
    event_type: str = strawberry.field(description="job.completed, job.failed or job.cancelled")
    status: str = strawberry.field(description="PENDING, DELIVERED or FAILED (given up)")
    attempts: list[WebhookAttempt]
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def from_view(cls, v: DeliveryView) -> WebhookDelivery:
        return cls(
            id=strawberry.ID(v.id),
            job_id=strawberry.ID(v.job_id),
            webhook_id=strawberry.ID(v.webhook_id) if v.webhook_id else None,
            url=v.url,
            event_type=v.event_type,
            status=v.status,
            attempts=[WebhookAttempt.from_view(a) for a in v.attempts],
            next_attempt_at=v.next_attempt_at,
            last_error=v.last_error,
            created_at=v.created_at,
            finished_at=v.finished_at,
        )


@strawberry.input
class WebhookInput:
    url: str = strawberry.field(description="http(s); not a private, loopback or metadata address.")
    description: str | None = None


CreateWebhookResult = Annotated[
    WebhookCreated | InvalidInput | ServiceUnavailable, strawberry.union("CreateWebhookResult")
]
DeleteWebhookResult = Annotated[
    Webhook | InvalidInput | NotFound | ServiceUnavailable, strawberry.union("DeleteWebhookResult")
]


@strawberry.type
class WebhookQuery:
    @strawberry.field(description="Your registered webhooks.")
    async def webhooks(self, info: Info) -> list[Webhook]:
        try:
            return [Webhook.from_view(v) for v in await resolvers.list_webhooks(info.context)]
        except UserError as err:
            raise graphql_error(err) from None

    @strawberry.field(description="Deliveries, newest first: of one job, to one webhook, or all of yours.")
    async def webhook_deliveries(
        self,
        info: Info,
        job_id: strawberry.ID | None = None,
        webhook_id: strawberry.ID | None = None,
        first: int | None = 20,
    ) -> list[WebhookDelivery]:
        try:
            views = await resolvers.list_deliveries(
                info.context,
                job_id=str(job_id) if job_id is not None else None,
                webhook_id=str(webhook_id) if webhook_id is not None else None,
                first=first,
            )
        except UserError as err:
            raise graphql_error(err) from None
        return [WebhookDelivery.from_view(v) for v in views]

    @strawberry.field(
        description="The secret that signs deliveries to the webhookUrl a job names (registered webhooks "
        "each have their own). Made on first ask; the same afterwards."
    )
    async def webhook_signing_secret(self, info: Info) -> str:
        try:
            return await resolvers.signing_secret(info.context)
        except UserError as err:
            raise graphql_error(err) from None


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(
        description="Register an endpoint for all your jobs' ends. Its signing secret is in the answer, once."
    )
    async def create_webhook(self, info: Info, input: WebhookInput) -> CreateWebhookResult:
        try:
            view, secret = await resolvers.create_webhook(info.context, input.url, input.description)
        except UserError as err:
            return create_problem(err)
        return WebhookCreated(webhook=Webhook.from_view(view), secret=secret)

    @strawberry.mutation(description="Stop sending to an endpoint; its delivery history stays.")
    async def delete_webhook(self, info: Info, id: strawberry.ID) -> DeleteWebhookResult:
        try:
            return Webhook.from_view(await resolvers.delete_webhook(info.context, str(id)))
        except UserError as err:
            return problem(err)

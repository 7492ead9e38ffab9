"""scenarios and scenes (the AI scene video); costs.call_key (a vendor task counted once per job)

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scenarios",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(64), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("resolution", sa.String(32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_scenarios_user_id", "scenarios", ["user_id", "id"])
    op.create_table(
        "scenes",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(64), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("scenario_id", sa.String(64), sa.ForeignKey("scenarios.id"), nullable=False),
        sa.Column("image_prompt", sa.Text(), nullable=False),
        sa.Column("visual_prompt", sa.Text(), nullable=False),
        sa.Column("product_reference_image_url", sa.String(2048), nullable=True),
        sa.Column("duration", sa.Integer(), nullable=False),
        sa.Column("image_key", sa.String(512), nullable=True),
        sa.Column("video_key", sa.String(512), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("job_id", sa.String(64), sa.ForeignKey("jobs.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_scenes_user_id", "scenes", ["user_id", "id"])
    op.create_index("ix_scenes_scenario_id", "scenes", ["scenario_id", "id"])
    with op.batch_alter_table("costs") as batch:
        batch.add_column(sa.Column("call_key", sa.String(128), nullable=True))
    # NULL keys are distinct in a unique index (SQLite and Postgres alike): unkeyed calls all count.
    op.create_index("uq_costs_job_call_key", "costs", ["job_id", "call_key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_costs_job_call_key", table_name="costs")
    with op.batch_alter_table("costs") as batch:
        batch.drop_column("call_key")
    op.drop_index("ix_scenes_scenario_id", table_name="scenes")
    op.drop_index("ix_scenes_user_id", table_name="scenes")
    op.drop_table("scenes")
    op.drop_index("ix_scenarios_user_id", table_name="scenarios")
    op.drop_table("scenarios")

"""jobs.stage_index / stage_count (events built from the row alone); stages.checkpoints (keyed checkpoints)

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("stage_index", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("stage_count", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("stages") as batch:
        batch.add_column(sa.Column("checkpoints", sa.JSON(), nullable=False, server_default="{}"))
    # Rows made before this revision: their positions come from their stage rows.
    op.execute(
        "UPDATE jobs SET stage_count = (SELECT count(*) FROM stages WHERE stages.job_id = jobs.id), "
        "stage_index = coalesce((SELECT stages.position FROM stages "
        "WHERE stages.job_id = jobs.id AND stages.name = jobs.stage), 0)"
    )
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column("stage_index", server_default=None)
        batch.alter_column("stage_count", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("stages") as batch:
        batch.drop_column("checkpoints")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("stage_count")
        batch.drop_column("stage_index")

"""offline scans: when a scan happened, and the device's reference for it

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 13:40:00

"""
from alembic import op
import sqlalchemy as sa

import core.db  # noqa: F401  (custom column types)


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('checkin_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('occurred_at', core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('client_ref', sa.String(length=64), nullable=True))
    # Every scan so far was live: it happened when the server logged it. The log
    # is append-only on PostgreSQL, so its guard steps aside for this one backfill.
    postgres = op.get_bind().dialect.name == 'postgresql'
    if postgres:
        op.execute("ALTER TABLE checkin_log DISABLE TRIGGER checkin_log_append_only")
    op.execute("UPDATE checkin_log SET occurred_at = created_at")
    if postgres:
        op.execute("ALTER TABLE checkin_log ENABLE TRIGGER checkin_log_append_only")
    with op.batch_alter_table('checkin_log', schema=None) as batch_op:
        batch_op.alter_column('occurred_at', existing_type=core.db.UTCDateTime(timezone=True),
                              nullable=False)
        batch_op.create_index('uq_checkin_log_actor_id_client_ref', ['actor_id', 'client_ref'], unique=True,
                              postgresql_where=sa.text('client_ref IS NOT NULL'),
                              sqlite_where=sa.text('client_ref IS NOT NULL'))


def downgrade():
    with op.batch_alter_table('checkin_log', schema=None) as batch_op:
        batch_op.drop_index('uq_checkin_log_actor_id_client_ref')
        batch_op.drop_column('client_ref')
        batch_op.drop_column('occurred_at')

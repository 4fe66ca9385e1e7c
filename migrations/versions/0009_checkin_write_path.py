"""check-in write path: HOT updates of registrations, a partial index for annulments

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 14:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        # New pages keep a fifth free, so a check-in updates its row in place (HOT).
        op.execute("ALTER TABLE registrations SET (fillfactor = 80)")
    with op.batch_alter_table('checkin_log', schema=None) as batch_op:
        batch_op.drop_constraint('uq_checkin_log_annuls_id', type_='unique')
        batch_op.create_index('uq_checkin_log_annuls_id', ['annuls_id'], unique=True,
                              postgresql_where=sa.text('annuls_id IS NOT NULL'),
                              sqlite_where=sa.text('annuls_id IS NOT NULL'))


def downgrade():
    with op.batch_alter_table('checkin_log', schema=None) as batch_op:
        batch_op.drop_index('uq_checkin_log_annuls_id')
        batch_op.create_unique_constraint('uq_checkin_log_annuls_id', ['annuls_id'])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("ALTER TABLE registrations RESET (fillfactor)")

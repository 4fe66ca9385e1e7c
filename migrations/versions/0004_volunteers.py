"""volunteer profiles (ID number sealed, volunteer number, consent, status),
service records, service certificates

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 12:01:22.198306

"""
from alembic import op
import sqlalchemy as sa

from datetime import timezone
from zoneinfo import ZoneInfo

import core.db  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('service_certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('real_name', sa.String(length=64), nullable=False),
    sa.Column('volunteer_no', sa.String(length=20), nullable=True),
    sa.Column('record_count', sa.Integer(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('star', sa.Integer(), nullable=False),
    sa.Column('first_date', sa.Date(), nullable=True),
    sa.Column('last_date', sa.Date(), nullable=True),
    sa.Column('issued_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_service_certificates_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_certificates')),
    sa.UniqueConstraint('code', name=op.f('uq_service_certificates_code'))
    )
    with op.batch_alter_table('service_certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_certificates_user_id'), ['user_id'], unique=False)

    op.create_table('service_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('org_name', sa.String(length=100), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('service_date', sa.Date(), nullable=False),
    sa.Column('started_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('responsible_person', sa.String(length=64), nullable=False),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.Column('recorded_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('is_late', sa.Boolean(), nullable=False),
    sa.Column('cause_key', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_service_records_org_id_orgs')),
    sa.ForeignKeyConstraint(['recorded_by'], ['users.id'], name=op.f('fk_service_records_recorded_by_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_service_records_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_records')),
    sa.UniqueConstraint('cause_key', name=op.f('uq_service_records_cause_key'))
    )
    with op.batch_alter_table('service_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_records_activity_id'), ['activity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_records_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_service_records_user_date', ['user_id', 'service_date', 'id'], unique=False)

    with op.batch_alter_table('volunteer_profiles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('volunteer_no', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('id_number_cipher', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('id_number_fingerprint', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('id_number_masked', sa.String(length=18), nullable=True))
        batch_op.add_column(sa.Column('birth_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('skills', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column('consent_version', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('consented_at', core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('guardian_name', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('guardian_phone', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('guardian_relation', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('guardian_consented_at', core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('status_reason', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('status_changed_at', core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('status_changed_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('updated_at', core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_volunteer_profiles_id_number_fingerprint'), ['id_number_fingerprint'])
        batch_op.create_unique_constraint(batch_op.f('uq_volunteer_profiles_volunteer_no'), ['volunteer_no'])
        batch_op.create_foreign_key(batch_op.f('fk_volunteer_profiles_status_changed_by_users'), 'users', ['status_changed_by'], ['id'])

    _number_existing_profiles()


def _number_existing_profiles():
    """Profiles made before this revision get their 志愿者编号 as new ones do (LL + year + id)."""
    profiles = sa.table("volunteer_profiles", sa.column("id", sa.Integer),
                        sa.column("created_at", sa.DateTime), sa.column("volunteer_no", sa.String))
    conn = op.get_bind()
    zone = ZoneInfo("Asia/Shanghai")
    for row in conn.execute(sa.select(profiles.c.id, profiles.c.created_at)).all():
        created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=timezone.utc)
        number = f"LL{created.astimezone(zone).year}{row.id:08d}"
        conn.execute(profiles.update().where(profiles.c.id == row.id).values(volunteer_no=number))


def downgrade():
    with op.batch_alter_table('volunteer_profiles', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_volunteer_profiles_status_changed_by_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_volunteer_profiles_volunteer_no'), type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_volunteer_profiles_id_number_fingerprint'), type_='unique')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('status_changed_by')
        batch_op.drop_column('status_changed_at')
        batch_op.drop_column('status_reason')
        batch_op.drop_column('guardian_consented_at')
        batch_op.drop_column('guardian_relation')
        batch_op.drop_column('guardian_phone')
        batch_op.drop_column('guardian_name')
        batch_op.drop_column('consented_at')
        batch_op.drop_column('consent_version')
        batch_op.drop_column('skills')
        batch_op.drop_column('birth_date')
        batch_op.drop_column('id_number_masked')
        batch_op.drop_column('id_number_fingerprint')
        batch_op.drop_column('id_number_cipher')
        batch_op.drop_column('volunteer_no')

    with op.batch_alter_table('service_records', schema=None) as batch_op:
        batch_op.drop_index('ix_service_records_user_date')
        batch_op.drop_index(batch_op.f('ix_service_records_org_id'))
        batch_op.drop_index(batch_op.f('ix_service_records_activity_id'))

    op.drop_table('service_records')
    with op.batch_alter_table('service_certificates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_certificates_user_id'))

    op.drop_table('service_certificates')

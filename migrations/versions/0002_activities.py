"""activities, registrations, check-in log, kiosk links, pass secrets

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 12:02:48.642430

"""
from alembic import op
import sqlalchemy as sa

import core.db  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('activities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('domain', sa.String(length=32), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('starts_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('volunteer_slots', sa.Integer(), nullable=False),
    sa.Column('points_per_hour', sa.Integer(), nullable=False),
    sa.Column('attendance_points', sa.Integer(), nullable=False),
    sa.Column('is_walk_in_allowed', sa.Boolean(), nullable=False),
    sa.Column('checkin_opens_before_min', sa.Integer(), nullable=False),
    sa.Column('checkin_closes_after_min', sa.Integer(), nullable=False),
    sa.Column('geofence_lat', sa.Float(), nullable=True),
    sa.Column('geofence_lng', sa.Float(), nullable=True),
    sa.Column('geofence_radius_m', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('code_secret', sa.String(length=64), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_activities_created_by_id_users')),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_activities_org_id_orgs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activities'))
    )
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.create_index('ix_activities_org_id_starts_at', ['org_id', 'starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_activities_starts_at'), ['starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_activities_status'), ['status'], unique=False)

    op.create_table('pass_secrets',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('secret', sa.String(length=64), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_pass_secrets_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_pass_secrets'))
    )
    op.create_table('kiosk_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_kiosk_links_activity_id_activities')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_kiosk_links_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kiosk_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_kiosk_links_token_hash'))
    )
    with op.batch_alter_table('kiosk_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kiosk_links_activity_id'), ['activity_id'], unique=False)

    op.create_table('registrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('registered_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('checked_in_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('checked_out_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_registrations_activity_id_activities')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_registrations_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registrations')),
    sa.UniqueConstraint('activity_id', 'user_id', name=op.f('uq_registrations_activity_id_user_id'))
    )
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.create_index('ix_registrations_activity_role_status', ['activity_id', 'role', 'status', 'registered_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_registrations_user_id'), ['user_id'], unique=False)

    op.create_table('checkin_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=True),
    sa.Column('registration_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=8), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('result', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=True),
    sa.Column('annuls_id', sa.Integer(), nullable=True),
    sa.Column('device', sa.String(length=200), nullable=True),
    sa.Column('client_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lng', sa.Float(), nullable=True),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_checkin_log_activity_id_activities')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_checkin_log_actor_id_users')),
    sa.ForeignKeyConstraint(['annuls_id'], ['checkin_log.id'], name=op.f('fk_checkin_log_annuls_id_checkin_log')),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_checkin_log_registration_id_registrations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_checkin_log_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin_log')),
    sa.UniqueConstraint('annuls_id', name=op.f('uq_checkin_log_annuls_id'))
    )
    with op.batch_alter_table('checkin_log', schema=None) as batch_op:
        batch_op.create_index('ix_checkin_log_activity_id_id', ['activity_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_checkin_log_registration_id'), ['registration_id'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        # The check-in log is append-only: corrections are new rows (annulments).
        op.execute("""
            CREATE FUNCTION checkin_log_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'checkin_log is append-only (% refused)', TG_OP;
            END $$ LANGUAGE plpgsql
        """)
        op.execute("""
            CREATE TRIGGER checkin_log_append_only BEFORE UPDATE OR DELETE ON checkin_log
            FOR EACH ROW EXECUTE FUNCTION checkin_log_append_only()
        """)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS checkin_log_append_only ON checkin_log")
        op.execute("DROP FUNCTION IF EXISTS checkin_log_append_only()")
    with op.batch_alter_table('checkin_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkin_log_registration_id'))
        batch_op.drop_index('ix_checkin_log_activity_id_id')

    op.drop_table('checkin_log')
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registrations_user_id'))
        batch_op.drop_index('ix_registrations_activity_role_status')

    op.drop_table('registrations')
    with op.batch_alter_table('kiosk_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kiosk_links_activity_id'))

    op.drop_table('kiosk_links')
    op.drop_table('pass_secrets')
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activities_status'))
        batch_op.drop_index(batch_op.f('ix_activities_starts_at'))
        batch_op.drop_index('ix_activities_org_id_starts_at')

    op.drop_table('activities')

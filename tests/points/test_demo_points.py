"""The demo gives its volunteers points once, however often it is loaded."""
import sqlalchemy as sa

from core.db import db
from points.models import Account, Transfer
from points.verify import verify


def test_demo_volunteers_get_points_once(app):
    runner = app.test_cli_runner()
    for _ in range(2):
        assert runner.invoke(args=["demo", "load"]).exit_code == 0
    with app.app_context():
        balances = sorted(db.session.scalars(sa.select(Account.balance).where(Account.kind == "person")))
        assert balances == [120, 400]
        memos = set(db.session.scalars(sa.select(Transfer.memo)))
        assert memos == {"历史纸质记录补录"}
        assert verify()[0] == []

"""bench/citygen.py makes books the app accepts: verify is ok, the nightly jobs
find what the shapes promise, and running them leaves the books ok."""
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import ON_POSTGRES, RUN_ID, TEST_DATABASE_URL
from tests.scratch_db import create_database

pytestmark = pytest.mark.skipif(not ON_POSTGRES, reason="the generator loads PostgreSQL with COPY")

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def city():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    from citygen import generate
    from scratch import migrated_app

    url, drop = create_database(TEST_DATABASE_URL, f"linli_citygen_{RUN_ID}")
    try:
        counts = generate(url, 0.005, seed=7, now=NOW, log=lambda *args: None)
        app = migrated_app(url)
        yield app, counts
        with app.app_context():
            from core.db import db

            db.engine.dispose()
    finally:
        drop()


def test_the_generated_city_verifies_and_the_nightly_jobs_run_on_it(city):
    from core.db import db
    from points import expiry, redemption
    from points.benefits_models import Redemption
    from points.models import Account, Transfer
    from points.verify import verify
    from tests.points.test_nightly_jobs import reference_expiring

    app, counts = city
    assert counts["users"] > 1500 and counts["transfers"] > 1000 and counts["redemptions"] > 50
    with app.app_context():
        problems, found = verify()
        assert problems == [] and found["transfers"] == counts["transfers"]
        kinds = set(db.session.scalars(sa.select(Transfer.kind).distinct()))
        assert {"earn", "redeem", "expiry"} <= kinds
        cutoff = expiry.add_months(NOW, -12)
        people = db.session.scalars(sa.select(Account.id).where(Account.kind == "person")).all()
        due = 0
        for account_id in people:
            found = expiry.expiring(account_id, cutoff)
            assert (found.by_source, found.last_lot_id) == reference_expiring(account_id, cutoff)
            due += found.points > 0
        assert due > 0
        assert expiry.expire_all(now=NOW, months=12, batch=50)[1] == due
        assert expiry.expire_all(now=NOW, months=12) == (0, 0)
        overdue = len(redemption.overdue_ids(now=NOW, limit=10_000))
        assert overdue > 0 and redemption.expire_overdue(now=NOW, batch=7) == overdue
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Redemption)
                                 .where(Redemption.status == "reserved", Redemption.expires_at <= NOW)) == 0
        assert verify()[0] == []

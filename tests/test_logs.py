"""No phone number, ID number or secret in a log line (README "Logs")."""
import io
import logging

import pytest
import sqlalchemy as sa

from core.db import db
from core.logs import MaskPersonalData, install, mask
from tests.app_support import another_app
from tests.support import API, make_id_number

PHONE = "13812345678"
ID_NUMBER = make_id_number()  # 420102199001011234-like, with a valid check digit
SECRET = "code-secret-0f3a9c"


@pytest.mark.parametrize("raw,masked", [
    ("电话 13812345678，", "电话 138****5678，"),
    ("phone=13812345678&x=1", "phone=138****5678&x=1"),
    ("+8613812345678", "+86138****5678"),
    ("138-1234-5678 / 138 1234 5678", "138****5678 / 138****5678"),
    ("(19912345678)", "(199****5678)"),
    ("420102199001011234", "4201**********1234"),
    ("id 42010219900101123X.", "id 4201**********123X."),
    ("Key (phone)=(13812345678) already exists.", "Key (phone)=(138****5678) already exists."),
])
def test_phones_and_id_numbers_are_masked(raw, masked):
    assert mask(raw) == masked


@pytest.mark.parametrize("text", [
    "12345678901",  # 12x is no mobile prefix
    "138123456789",  # twelve digits
    "12345678901234567890",  # twenty digits
    "2026-12-01T09:00:00+08:00 took 1381 ms, request 7d1f03",
    "138****5678 4201**********1234",  # masked already
])
def test_other_numbers_are_left_alone(text):
    assert mask(text) == text


def _raise(message):
    try:
        raise ValueError(message)
    except ValueError:
        logging.getLogger("linli.test").exception("failed for %s", {"phone": PHONE})


def test_the_filter_masks_message_args_and_exception_text(caplog):
    install(caplog.handler)
    logger = logging.getLogger("linli.test")
    logger.warning("volunteer %s registered with %r", PHONE, {"id_number": ID_NUMBER})
    _raise(f"duplicate id number {ID_NUMBER}")
    text = caplog.text
    assert PHONE not in text and ID_NUMBER not in text
    assert "138****5678" in text and ID_NUMBER[:4] + "*" * 10 + ID_NUMBER[-4:] in text
    assert "Traceback" in text and "ValueError: duplicate id number 4201**" in text
    assert PHONE not in caplog.records[0].getMessage()


def test_installing_twice_filters_once(caplog):
    install(caplog.handler)
    install(caplog.handler)
    assert sum(isinstance(f, MaskPersonalData) for f in caplog.handler.filters) == 1


def test_create_app_masks_what_the_root_handlers_write(app):
    """A real handler on the root logger, there when the app is made (as under
    gunicorn or `flask run`), writing to a stream."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with another_app(app):
            pass
        logging.getLogger("some.library").error("sent SMS to %s", PHONE)
        _raise(f"ID {ID_NUMBER} and phone {PHONE}")
    finally:
        root.removeHandler(handler)
    written = stream.getvalue()
    assert "ERROR some.library sent SMS to 138****5678" in written
    assert PHONE not in written and ID_NUMBER not in written
    assert "ValueError: ID 4201**********" in written


def test_loggers_that_do_not_propagate_are_masked_too():
    """gunicorn's error and access logs have handlers of their own."""
    stream = io.StringIO()
    logger = logging.getLogger("gunicorn.error.test")
    logger.propagate = False
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    try:
        install()
        logger.warning("worker saw %s", PHONE)
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue() == "worker saw 138****5678\n"


def test_the_engine_hides_bound_parameters(app, ctx):
    assert db.engine.hide_parameters is True
    with pytest.raises(sa.exc.DBAPIError) as failed:
        db.session.execute(sa.text("SELECT * FROM no_such_table WHERE phone = :phone AND secret = :secret"),
                           {"phone": PHONE, "secret": SECRET})
    db.session.rollback()
    assert PHONE not in str(failed.value) and SECRET not in str(failed.value)
    assert "hidden" in str(failed.value)


def test_the_engine_hides_bound_parameters_whatever_the_configuration(app):
    with another_app(app, SQLALCHEMY_ENGINE_OPTIONS={"hide_parameters": False}) as other, other.app_context():
        assert db.engine.hide_parameters is True


def test_an_unexpected_database_error_is_logged_without_personal_data(app, caplog, monkeypatch):
    """What was seen in a server log: a failed statement with a volunteer's
    phone and an activity's code secret bound to it. On PostgreSQL the
    message of a unique violation also names the value (its DETAIL)."""
    from people import accounts

    def clash(**kwargs):
        insert = sa.text("INSERT INTO users (nickname, phone, is_active, created_at) "
                         "VALUES ('x', :phone, true, CURRENT_TIMESTAMP)")
        db.session.execute(insert, {"phone": PHONE})
        db.session.execute(insert, {"phone": PHONE})

    install(caplog.handler)
    monkeypatch.setattr(accounts, "login_with_password", clash)
    monkeypatch.setitem(app.config, "TEST_SHOW_500", True)
    response = app.test_client().post(f"{API}/auth/login", json={"phone": PHONE, "password": SECRET})
    assert response.status_code == 500
    text = caplog.text
    assert "IntegrityError" in text and "hidden due to hide_parameters" in text
    assert PHONE not in text and SECRET not in text

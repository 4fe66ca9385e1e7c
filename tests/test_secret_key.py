"""Outside the demo (DEV_LOGIN off) the app refuses to start with a secret
anyone could guess: every token, check-in code and pass is signed with a key
derived from it."""
import pytest

from api import create_app
from api.config import DEV_SECRET_KEY, check_safe


@pytest.mark.parametrize("key", [
    "a",
    DEV_SECRET_KEY,
    "short-but-not-empty",
    "x" * 31 + "y",  # long enough, two characters
    "abababababababababababababababab1",
])
def test_a_short_or_weak_secret_is_refused_in_production(key):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        check_safe({"DEV_LOGIN": False, "SECRET_KEY": key})
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"DEV_LOGIN": False, "SECRET_KEY": key})


@pytest.mark.parametrize("key", ["Qm7kR2x9_Tz4LpV0bN8cW3yH6jF1sD5aE-gUoIiK",  # secrets.token_urlsafe(30)
                                 "3f9a1c7e5b2d8f0a6c4e1b9d7a5f3c2e",  # secrets.token_hex(16)
                                 "a-real-production-secret-0123456789"])
def test_a_long_random_secret_is_accepted(key):
    check_safe({"DEV_LOGIN": False, "SECRET_KEY": key})


def test_the_demo_and_the_tests_may_use_any_secret():
    check_safe({"DEV_LOGIN": True, "SECRET_KEY": "a"})
    check_safe({"DEV_LOGIN": True, "SECRET_KEY": DEV_SECRET_KEY})

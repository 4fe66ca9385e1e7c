"""A signed access token whose `sub` is not a user id we could have issued is 401,
never a 500 from the database driver."""
import jwt
import pytest

from core.keys import derive_key
from tests.support import API, assert_error


BROKEN = pytest.mark.xfail(strict=True, reason="the subject reaches int() or the database")


@pytest.mark.parametrize("sub", [pytest.param("99999999999999999999", marks=BROKEN), "2147483648", "-1",
                                 "0", "12a", "", " 7", "\u0667", pytest.param("\u00b2", marks=BROKEN),
                                 "1e3", "007"])
def test_a_token_whose_subject_is_not_an_id_is_unauthenticated(app, client, actors, sub):
    resident = actors.resident()
    claims = jwt.decode(resident.token, options={"verify_signature": False})
    key = derive_key(app.config["SECRET_KEY"], "jwt")
    assert client.get(f"{API}/me", headers={"Authorization": "Bearer " + jwt.encode(
        claims, key, algorithm="HS256")}).status_code == 200  # the claims as issued are good
    token = jwt.encode({**claims, "sub": sub}, key, algorithm="HS256")
    assert_error(client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"}),
                 401, "UNAUTHENTICATED")

"""A signed access token whose `sub` is not a user id we could have issued is 401,
never a 500 from the database driver."""
import jwt
import pytest

from core.keys import derive_key
from tests.support import API, assert_error


@pytest.mark.parametrize("sub", ["99999999999999999999", "2147483648", "-1",
                                 "0", "12a", "", " 7", "\u0667", "\u00b2",
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


def _signed(app, claims):
    return jwt.encode(claims, derive_key(app.config["SECRET_KEY"], "jwt"), algorithm="HS256")


def _me(client, token):
    return client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("version", ["0", True, -1, 1.0, None, 2**31, [0]])
def test_a_token_whose_version_is_not_a_count_is_unauthenticated(app, client, actors, version):
    resident = actors.resident()
    claims = jwt.decode(resident.token, options={"verify_signature": False})
    assert _me(client, _signed(app, claims)).status_code == 200
    assert_error(_me(client, _signed(app, {**claims, "ver": version})), 401, "UNAUTHENTICATED")


def test_a_token_from_before_versions_counts_as_version_0_until_the_first_sign_out(app, client, actors):
    tree = actors.tree()
    worker = actors.staff(tree["room_a"], "worker")
    claims = jwt.decode(worker.token, options={"verify_signature": False})
    old = _signed(app, {k: v for k, v in claims.items() if k != "ver"})
    assert _me(client, old).status_code == 200
    admin = actors.staff(tree["room_a"], "admin")
    assert client.delete(f"{API}/orgs/{tree['room_a']}/staff/{worker.id}/sessions",
                         headers=admin.headers).status_code == 200
    assert_error(_me(client, old), 401, "UNAUTHENTICATED")

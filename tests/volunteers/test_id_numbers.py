"""ID numbers: checked, masked, sealed at rest, fingerprinted."""
import pytest
import sqlalchemy as sa

from core import clock
from core.db import db
from core.errors import DomainError
from volunteers import id_numbers, profiles
from volunteers.models import User, VolunteerProfile
from tests.support import make_id_number


def test_mask_shows_four_digits_each_end_and_nothing_of_the_birth_date():
    number = make_id_number("19900101", "420102", "123")
    masked = id_numbers.mask(number)
    assert masked == "4201" + "*" * 10 + number[-4:]
    assert len(masked) == 18 and "1990" not in masked


def test_normalise_accepts_a_lower_case_x_and_refuses_a_wrong_check_digit():
    x_number = next(n for n in (make_id_number(sequence=f"{i:03d}") for i in range(100)) if n.endswith("X"))
    assert id_numbers.normalise(" " + x_number.lower() + " ") == x_number
    good = make_id_number()
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(DomainError) as caught:
        id_numbers.normalise(wrong)
    assert caught.value.code == "VALIDATION_ERROR" and "id_number" in caught.value.details
    for bad in ["", "12345", good + "1", "420102198013011234"]:  # empty, short, long, month 13
        with pytest.raises(DomainError):
            id_numbers.normalise(bad)


def test_encryption_round_trips_and_is_bound_to_its_owner(ctx):
    number = make_id_number()
    sealed = id_numbers.encrypt(number, owner="user:1")
    assert number not in sealed
    assert id_numbers.decrypt(sealed, owner="user:1") == number
    assert id_numbers.encrypt(number, owner="user:1") != sealed  # a fresh nonce each time
    with pytest.raises(ValueError):
        id_numbers.decrypt(sealed, owner="user:2")


def test_the_key_comes_from_id_number_key_when_set(app):
    number = make_id_number()
    with app.app_context():
        default_sealed = id_numbers.encrypt(number, owner="user:1")
        default_print = id_numbers.fingerprint(number)
    app.config["ID_NUMBER_KEY"] = "a-separate-id-number-secret"
    try:
        with app.app_context():
            with pytest.raises(ValueError):
                id_numbers.decrypt(default_sealed, owner="user:1")
            assert id_numbers.fingerprint(number) != default_print
            assert id_numbers.decrypt(id_numbers.encrypt(number, owner="u"), owner="u") == number
    finally:
        app.config["ID_NUMBER_KEY"] = None


def test_the_database_never_holds_the_plain_number(ctx):
    number = make_id_number("19900215", "110105", "456")
    user = User(nickname="x", created_at=clock.now())
    db.session.add(user)
    db.session.flush()
    profiles.register(user=user, real_name="王小明", phone="13800001111", id_number=number,
                      now=clock.now())
    db.session.commit()
    row = db.session.execute(sa.select(VolunteerProfile.__table__)).mappings().one()
    assert all(number not in str(value) for value in row.values())
    assert row["id_number_masked"] == "1101**********" + number[-4:]
    assert str(row["birth_date"]) == "1990-02-15"
    assert id_numbers.decrypt(row["id_number_cipher"], owner=f"user:{user.id}") == number

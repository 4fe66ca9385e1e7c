"""ID numbers: checked, masked, sealed at rest, fingerprinted."""
import dataclasses

import pytest
import sqlalchemy as sa

from core import clock
from core.db import db
from core.errors import DomainError
from volunteers import id_numbers, profiles
from people.models import User
from volunteers.models import VolunteerProfile
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


def test_encryption_round_trips_and_is_bound_to_its_owner(settings):
    number = make_id_number()
    sealed = id_numbers.encrypt(number, owner="user:1", settings=settings)
    assert number not in sealed
    assert id_numbers.decrypt(sealed, owner="user:1", settings=settings) == number
    assert id_numbers.encrypt(number, owner="user:1", settings=settings) != sealed  # a fresh nonce each time
    with pytest.raises(ValueError):
        id_numbers.decrypt(sealed, owner="user:2", settings=settings)


def test_the_key_comes_from_id_number_key_when_set(settings):
    number = make_id_number()
    default_sealed = id_numbers.encrypt(number, owner="user:1", settings=settings)
    default_print = id_numbers.fingerprint(number, settings=settings)
    own_key = dataclasses.replace(settings, id_number_key="a-separate-id-number-secret")
    with pytest.raises(ValueError):
        id_numbers.decrypt(default_sealed, owner="user:1", settings=own_key)
    assert id_numbers.fingerprint(number, settings=own_key) != default_print
    assert id_numbers.decrypt(id_numbers.encrypt(number, owner="u", settings=own_key), owner="u",
                              settings=own_key) == number


def test_the_database_never_holds_the_plain_number(ctx, settings):
    number = make_id_number("19900215", "110105", "456")
    user = User(nickname="x", created_at=clock.now())
    db.session.add(user)
    db.session.flush()
    profiles.register(user=user, real_name="王小明", phone="13800001111", id_number=number,
                      now=clock.now(), settings=settings)
    db.session.commit()
    row = db.session.execute(sa.select(VolunteerProfile.__table__)).mappings().one()
    assert all(number not in str(value) for value in row.values())
    assert row["id_number_masked"] == "1101**********" + number[-4:]
    assert str(row["birth_date"]) == "1990-02-15"
    assert id_numbers.decrypt(row["id_number_cipher"], owner=f"user:{user.id}", settings=settings) == number

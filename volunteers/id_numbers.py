"""Resident identity card numbers (居民身份证号码, GB 11643): validated, encrypted
at rest, fingerprinted for uniqueness, and only ever shown masked.

The AES-256-GCM key and the HMAC key are both derived from `ID_NUMBER_KEY`
(any high-entropy secret string), or from `SECRET_KEY` when that is unset.
Changing the source secret makes stored numbers unreadable and their
fingerprints stale, so production sets `ID_NUMBER_KEY` once and keeps it.
"""
import base64
import hashlib
import hmac
import os
from datetime import date

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

from core.errors import Invalid
from core.keys import derive_key
from core.settings import Settings

CIPHER_VERSION = "v1"
NONCE_BYTES = 12


def normalise(raw: str) -> str:
    """The canonical form: no spaces, an upper-case check character X.

    Raises VALIDATION_ERROR (`id_number`) unless it is an 18-character number
    with a valid birth date and GB 11643 check digit.
    """
    try:
        return ric.validate(raw.strip().upper())
    except StdnumError as exc:
        raise Invalid({"id_number": [f"不是有效的居民身份证号码（{_reason(exc)}）"]})


def _reason(exc: StdnumError) -> str:
    return {"InvalidChecksum": "校验码错误", "InvalidLength": "长度应为 18 位",
            "InvalidFormat": "格式错误", "InvalidComponent": "出生日期无效"}.get(type(exc).__name__, "无效")


def birth_date(number: str) -> date:
    return ric.get_birth_date(number)


def mask(number: str) -> str:
    """4201**********1234: the region's first digits and the last four, nothing of the birth date."""
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def _cipher_key(settings: Settings) -> bytes:
    return derive_key(settings.id_number_secret, "id-number")


def _fingerprint_key(settings: Settings) -> bytes:
    # A separate key: the fingerprint must not help anyone with the cipher key, and vice versa.
    return derive_key(settings.id_number_secret, "id-number-fingerprint")


def fingerprint(number: str, *, settings: Settings) -> str:
    """A keyed hash (HMAC-SHA256) that finds equal numbers without storing them.

    Keyed, because the space of ID numbers is small enough to hash exhaustively.
    """
    return hmac.new(_fingerprint_key(settings), number.encode(), hashlib.sha256).hexdigest()


def encrypt(number: str, *, owner: str, settings: Settings) -> str:
    """AES-256-GCM with a random nonce; `owner` (e.g. "volunteer:42") is bound as
    associated data, so a ciphertext copied onto another row does not decrypt."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(_cipher_key(settings)).encrypt(nonce, number.encode(), owner.encode())
    return f"{CIPHER_VERSION}:" + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def decrypt(token: str, *, owner: str, settings: Settings) -> str:
    """Raises ValueError for a token not sealed by this key for this owner."""
    version, _, body = token.partition(":")
    if version != CIPHER_VERSION:
        raise ValueError(f"unknown ID number cipher version {version!r}")
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    try:
        return AESGCM(_cipher_key(settings)).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], owner.encode()).decode()
    except InvalidTag:
        raise ValueError("the ID number was sealed under another key or for another owner")

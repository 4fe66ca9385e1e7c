"""Mainland mobile numbers: validation and masking."""
import re

MAINLAND_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def is_mainland_mobile(phone: str) -> bool:
    return bool(MAINLAND_MOBILE.fullmatch(phone or ""))


def mask_phone(phone: str | None) -> str | None:
    """138****0000 — enough for the owner to recognise, not enough to dial."""
    if not phone:
        return None
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]

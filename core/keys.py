"""Purpose-specific keys derived from one secret."""
import hashlib
import hmac


def derive_key(secret: str, purpose: str) -> bytes:
    return hmac.new(secret.encode(), f"linli:{purpose}".encode(), hashlib.sha256).digest()

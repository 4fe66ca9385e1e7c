"""Purpose-specific keys derived from one secret."""
import functools
import hashlib
import hmac


@functools.lru_cache(maxsize=64)  # derived on every request otherwise (JWTs, codes)
def derive_key(secret: str, purpose: str) -> bytes:
    return hmac.new(secret.encode(), f"linli:{purpose}".encode(), hashlib.sha256).digest()

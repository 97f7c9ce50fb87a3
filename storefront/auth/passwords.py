"""Password storage with two schemes that never mix.

* A password a person chose gets a slow, memory-hard hash: argon2id (argon2-cffi).
* A secret the server generated (the 256-bit password of an anonymous record) gets a fast keyed hash,
  HMAC-SHA256 under a key derived from the app's secret. NIST SP 800-63B and OWASP ASVS 6.5.2 allow a
  plain approved hash for secrets of 112 bits or more; slow-hashing one would only turn an
  unauthenticated endpoint into a CPU amplifier (~80 ms per anonymous sign-in).

The fast scheme only accepts a :class:`GeneratedSecret`, which only :meth:`GeneratedSecret.generate`
can make, so no code path can hand it a chosen password.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError
from flask import current_app

FAST_PREFIX = "hmac-sha256$"
_GENERATED_BYTES = 32  # 256 bits
_CONSTRUCT = object()  # only this module holds it: see GeneratedSecret.__init__


class GeneratedSecret:
    """A random secret made by the server, never one a person typed."""

    __slots__ = ("_value",)

    def __init__(self, value: str, _token: object = None) -> None:
        if _token is not _CONSTRUCT:
            raise TypeError("GeneratedSecret can only be made by GeneratedSecret.generate().")
        self._value = value

    @classmethod
    def generate(cls) -> GeneratedSecret:
        """256 bits from the operating system's CSPRNG."""
        return cls(secrets.token_urlsafe(_GENERATED_BYTES), _CONSTRUCT)

    def reveal(self) -> str:
        """The secret itself, to sign in with it once."""
        return self._value

    def __repr__(self) -> str:
        return "GeneratedSecret(<hidden>)"


def _argon2() -> PasswordHasher:
    config = current_app.config
    return PasswordHasher(
        time_cost=config["ARGON2_TIME_COST"],
        memory_cost=config["ARGON2_MEMORY_COST"],
        parallelism=config["ARGON2_PARALLELISM"],
    )


def _fast_key() -> bytes:
    # A key of its own, derived from the app secret, so the hash is useless without the server.
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, b"storefront generated-secret hash v1", hashlib.sha256).digest()


def _fast_digest(value: str) -> str:
    return hmac.new(_fast_key(), _candidate_bytes(value), hashlib.sha256).hexdigest()


def _candidate_bytes(candidate: str) -> bytes:
    """A password to check, as bytes. A lone surrogate (JSON can carry one) is kept as its own bytes
    rather than failing to encode: such bytes are not UTF-8, so they match no stored password, and
    the check still costs what any other check costs."""
    return candidate.encode("utf-8", "surrogatepass")


def hash_password(password: str) -> str:
    """Hash a password a person chose (argon2id). This is the only hash for chosen passwords."""
    if not isinstance(password, str) or not password:
        raise ValueError("A password is required.")
    return _argon2().hash(password)


def hash_generated_secret(secret: GeneratedSecret) -> str:
    """Hash a server-generated secret with the fast keyed scheme."""
    if not isinstance(secret, GeneratedSecret):
        raise TypeError("Only a GeneratedSecret may use the fast hash; chosen passwords use argon2id.")
    return FAST_PREFIX + _fast_digest(secret.reveal())


def verify_password(stored_hash: str, candidate: str) -> bool:
    """Check ``candidate`` against either scheme, in constant time for the scheme's work."""
    if stored_hash.startswith(FAST_PREFIX):
        expected = stored_hash[len(FAST_PREFIX) :]
        return hmac.compare_digest(expected, _fast_digest(candidate))
    try:
        return _argon2().verify(stored_hash, _candidate_bytes(candidate))
    except (VerificationError, InvalidHashError):
        return False


def is_slow_hash(stored_hash: str) -> bool:
    """True for an argon2id hash (a password a person chose)."""
    return stored_hash.startswith("$argon2id$")


# A real argon2id hash of a random value: sign-in with an unknown email verifies against it, so the
# answer takes as long as for a known one (no account enumeration through timing).
def dummy_verify(candidate: str) -> None:
    """Spend the time of one argon2 verification and throw the result away."""
    hasher = _argon2()
    key = "_storefront_dummy_hash"
    dummy = current_app.extensions.get(key)
    if dummy is None:
        dummy = hasher.hash(secrets.token_urlsafe(16))
        current_app.extensions[key] = dummy
    with contextlib.suppress(VerificationError, InvalidHashError):
        hasher.verify(dummy, _candidate_bytes(candidate))

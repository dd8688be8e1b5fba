"""Password hashes: argon2id through argon2-cffi, at OWASP's minimum (m=19 MiB, t=2, p=1).

Why argon2id rather than hashlib.scrypt: `bench/kdf.py` measured both on this machine
(docs/operations.md § Accounts has the table). At the strength OWASP treats as equal, one
argon2id check costs a small fraction of scrypt's CPU (scrypt needs N=2^17, 128 MiB, for
it), and at the same memory argon2id is still the cheaper of the two. A desk on two shared cores
checks sign-ins, reader-app logins and CLI changes with the same CPU that judges stories, so
the cheaper check at the same strength wins; argon2-cffi ships wheels, so nothing compiles.

The stored form is argon2's own encoding (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`): it names
its parameters, so they can grow later and a hash made with the old ones still verifies (no
sign-in rehashes it yet: argon2's `check_needs_rehash` is the place to start).
"""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MAX_PASSWORD = 1024  # characters: a longer one is refused, so a 1 MB "password" costs nothing
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@functools.cache
def _nobody() -> str:
    # made on first use, not at import: one hash is ~40 ms of CPU for every process
    return _hasher.hash("no account has this password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches; a malformed or empty stored hash matches nothing."""
    if not stored or len(password) > MAX_PASSWORD:
        return False
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def burn(password: str) -> None:
    """Spend one check's time on a name that has no account, so the answer's timing does not
    tell which names exist."""
    verify_password(password[:MAX_PASSWORD], _nobody())

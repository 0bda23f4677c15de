"""Tokens, scopes and the admin token file."""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from daemon.config import Scope, TokenConfig
from drivers.errors import ConfigError

_LOGGER = logging.getLogger(__name__)

ADMIN_TOKEN_FILE = "admin.token"
ADMIN_NAME = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a token's name and what it may do."""

    name: str
    scopes: frozenset[Scope]

    def allows(self, scope: Scope) -> bool:
        return "admin" in self.scopes or scope in self.scopes


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class TokenStore:
    """Maps bearer tokens to principals. Only SHA-256 digests are kept in memory."""

    def __init__(self) -> None:
        self._by_digest: dict[bytes, Principal] = {}

    def add(self, token: str, principal: Principal) -> None:
        digest = _digest(token)
        if digest in self._by_digest:
            raise ConfigError(f"tokens.{principal.name}: the same secret is used by {self._by_digest[digest].name!r}")
        self._by_digest[digest] = principal

    def add_configured(self, tokens: dict[str, TokenConfig]) -> None:
        for name, token in tokens.items():
            self.add(token.secret.get_secret_value(), Principal(name, frozenset(token.scopes)))

    def authenticate(self, token: str | None) -> Principal | None:
        if not token:
            return None
        # A dict lookup on a SHA-256 digest reveals nothing usable about the token through timing.
        return self._by_digest.get(_digest(token))


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def ensure_admin_token(state_dir: Path) -> str:
    """Return the admin token, creating ``<state_dir>/admin.token`` (mode 0600) on first start.

    An existing file is kept (so a technician's CLI keeps working across restarts) unless its mode lets
    anyone but the owner read it, in which case it is replaced.
    """
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = state_dir / ADMIN_TOKEN_FILE
    try:
        info = path.stat()
        if info.st_mode & 0o077 == 0 and info.st_uid == os.geteuid():
            token = path.read_text().strip()
            if len(token) >= 32:
                return token
        _LOGGER.warning("%s was readable by others or malformed; issuing a new admin token", path)
        path.unlink()
    except FileNotFoundError:
        pass
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    return token


def scopes_text(scopes: Iterable[str]) -> str:
    return ",".join(sorted(scopes))

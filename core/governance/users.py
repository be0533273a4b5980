"""Users, roles and password login (bcrypt). Users live in the board store."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum

import bcrypt

from core.governance import audit
from core.store.db import BoardWriter


class Role(StrEnum):
    VIEWER = "board viewer"        # PHI always masked
    ONCOLOGIST = "oncologist"      # full patient data, decisions
    COORDINATOR = "coordinator"    # agenda
    ADMIN = "admin"                # ingest status, thresholds, audit


# What each role may do. Pages check these, never role names.
PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.VIEWER: frozenset({"view_masked"}),
    Role.ONCOLOGIST: frozenset({"view_masked", "view_phi", "decide", "resolve_discrepancy", "export"}),
    Role.COORDINATOR: frozenset({"view_masked", "edit_agenda", "export"}),
    Role.ADMIN: frozenset({"view_masked", "view_phi", "admin", "audit", "export", "edit_agenda"}),
}

# Documented demo users (README). Created only when the board store has no users yet.
DEMO_USERS = {
    "oncologist": ("oncologist", Role.ONCOLOGIST),
    "viewer": ("viewer", Role.VIEWER),
    "coordinator": ("coordinator", Role.COORDINATOR),
    "admin": ("admin", Role.ADMIN),
}


@dataclass(frozen=True)
class User:
    username: str
    role: Role

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS[self.role]


def hash_password(password: str) -> str:
    if len(password) < 6:
        raise ValueError("password must have at least 6 characters")
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()


def create_user(writer: BoardWriter, username: str, password: str, role: Role, *, actor: str = "system") -> None:
    with writer.transaction() as cur:
        _insert_user(cur, username, password, role, actor)


def _insert_user(cur, username: str, password: str, role: Role, actor: str) -> None:
    Role(role)
    if not username or not username.replace(".", "").replace("_", "").isalnum():
        raise ValueError("username must be letters, digits, '.' or '_'")
    cur.execute("INSERT INTO users VALUES (?, ?, ?, ?, false)",
                [username, str(role), hash_password(password), datetime.now(timezone.utc).replace(tzinfo=None)])
    audit.append(cur, actor, "user.create", username, {"role": str(role)})


def ensure_demo_users(writer: BoardWriter) -> bool:
    """Create the documented demo users if there are no users at all; True if created.

    Check and inserts share one writer transaction: sessions opening at the same moment
    must not both find the table empty and insert the same users twice.
    """
    with writer.transaction() as cur:
        if cur.execute("SELECT count(*) FROM users").fetchall()[0][0]:
            return False
        for name, (pw, role) in DEMO_USERS.items():
            _insert_user(cur, name, pw + "-demo", role, "system")
    return True


def authenticate(writer: BoardWriter, username: str, password: str) -> User | None:
    """The user if the password matches (constant-time bcrypt check); every attempt is audited."""
    cur = writer.read()
    try:
        row = cur.execute("SELECT role, password_hash, disabled FROM users WHERE username = ?", [username]).fetchone()
    finally:
        cur.close()
    ok = bool(row) and not row[2] and bcrypt.checkpw(password.encode(), row[1].encode())
    if not row:
        bcrypt.checkpw(b"x", bcrypt.hashpw(b"y", bcrypt.gensalt(rounds=10)))  # same cost for unknown users
    with writer.transaction() as c:
        audit.append(c, username if row else "unknown", "login.success" if ok else "login.failure", "",
                     {} if row else {"note": "unknown username"})
    return User(username, Role(row[0])) if ok else None


def session_expired(last_activity: float | None, timeout_min: float, now: float | None = None) -> bool:
    if last_activity is None:
        return True
    return ((now or time.time()) - last_activity) > timeout_min * 60

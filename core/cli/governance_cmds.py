"""audit verify, users, backup, restore."""
from __future__ import annotations

import argparse
import getpass
from pathlib import Path

from core.store import db


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="audit log tools")
    asub = p.add_subparsers(dest="audit_cmd", required=True)
    v = asub.add_parser("verify", help="recompute the hash chain; non-zero exit if any entry was edited or deleted")
    v.set_defaults(func=cmd_audit_verify)

    p = sub.add_parser("add-user", help="create a dashboard user (password asked on the terminal)")
    p.add_argument("username")
    p.add_argument("--role", required=True, choices=["board viewer", "oncologist", "coordinator", "admin"])
    p.set_defaults(func=cmd_add_user)

    p = sub.add_parser("backup", help="copy the evidence and board stores into DIR with sha256 manifest")
    p.add_argument("dir", type=Path)
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="restore a backup folder made by `backup` (stop the app first)")
    p.add_argument("dir", type=Path)
    p.set_defaults(func=cmd_restore)


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from core.governance.audit import verify

    w = db.BoardWriter()
    try:
        r = verify(w.read())
    finally:
        w.close()
    print(f"audit log: {r.entries} entries; {r.reason}" + ("" if r.ok else f" at seq {r.first_bad_seq}"))
    return 0 if r.ok else 1


def cmd_add_user(args: argparse.Namespace) -> int:
    from core.governance.users import Role, create_user

    pw = getpass.getpass("password: ")
    w = db.BoardWriter()
    try:
        create_user(w, args.username, pw, Role(args.role), actor="cli")
    finally:
        w.close()
    print(f"created {args.username} ({args.role})")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from core.governance.backup import backup

    out = backup(args.dir)
    print(f"backup written to {out}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from core.governance.backup import restore

    v = restore(args.dir)
    print(f"restored evidence store {v}")
    return 0

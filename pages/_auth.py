"""Login, session timeout and role checks for the app (UI side of core.governance.users)."""
from __future__ import annotations

import time
from collections.abc import Callable

import streamlit as st

from core.config import setting
from core.governance import audit
from core.governance.users import Role, User, authenticate, ensure_demo_users, session_expired
from pages import _cached as c


def current_user() -> User | None:
    name, role = st.session_state.get("user"), st.session_state.get("role")
    if not name or not role:
        return None
    if session_expired(st.session_state.get("last_activity"), float(setting("session_timeout_min"))):
        logout(reason="timeout")
        return None
    st.session_state["last_activity"] = time.time()
    return User(name, Role(role))


def logout(reason: str = "logout") -> None:
    name = st.session_state.get("user")
    if name:
        with c.board_writer().transaction() as cur:
            audit.append(cur, name, f"session.{reason}")
    for k in ("user", "role", "last_activity"):
        st.session_state.pop(k, None)


def require_login(register_pages: Callable[[], object] | None = None) -> User:
    """Return the logged-in user, or show the login form and stop the script.

    ``register_pages`` is called first on the sign-in screen (the app registers its pages there).
    """
    user = current_user()
    if user:
        return user
    if register_pages is not None:
        register_pages()
    ensure_demo_users(c.board_writer())
    st.title("Tumor board evidence — sign in")
    with st.form("login"):
        name = st.text_input("Username", key="login_user")
        pw = st.text_input("Password", type="password", key="login_password")
        ok = st.form_submit_button("Sign in", type="primary")
    st.caption("Demo users (see README): oncologist / oncologist-demo · viewer / viewer-demo · "
               "coordinator / coordinator-demo · admin / admin-demo")
    if ok:
        u = authenticate(c.board_writer(), name.strip(), pw)
        if u:
            st.session_state.update(user=u.username, role=str(u.role), last_activity=time.time(),
                                    mask_phi=not u.can("view_phi"))
            st.rerun()
        st.error("Unknown user or wrong password.")
    st.stop()
    raise AssertionError("unreachable")


def audit_unmasked_view(user: User, patient_id: str) -> None:
    """Audit the first unmasked view of a patient in this session."""
    seen = st.session_state.setdefault("_unmasked_seen", set())
    if patient_id in seen:
        return
    seen.add(patient_id)
    with c.board_writer().transaction() as cur:
        audit.append(cur, user.username, "patient.view_unmasked", patient_id)


def page_guard(permission: str = "view_masked") -> User:
    """First line of every page: a signed-in user holding ``permission``, else stop here.

    app.py already shows the sign-in form before any page; this makes each page safe on its
    own too (a page script reached without app.py, e.g. by Streamlit's pages/ folder handling).
    """
    user = current_user()
    if user is None or not user.can(permission):
        st.warning("Sign in first." if user is None else "Your role cannot open this page.")
        st.stop()
    return user

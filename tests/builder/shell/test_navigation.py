"""The role -> pages table: who gets which page."""

from __future__ import annotations

from pathlib import Path

from builder.shell.navigation import PAGES, SIGN_IN, pages_for, url_path

ROOT = Path(__file__).resolve().parents[3]


def _user(*roles: str) -> dict:
    return {"name": "u", "display_name": None, "roles": list(roles), "teams": []}


def _titles(user: dict | None) -> list[str]:
    return [p.title for p in pages_for(user)]


def test_a_visitor_gets_only_the_sign_in_page() -> None:
    assert pages_for(None) == [SIGN_IN]


def test_pages_by_role() -> None:
    assert _titles(_user("reviewer")) == ["Home", "Review"]
    assert _titles(_user("auditor", "operator")) == ["Home"]
    assert _titles(_user("designer")) == ["Home", "Builder"]
    assert _titles(_user("reviewer", "designer")) == ["Home", "Review", "Builder"]
    assert pages_for(_user("admin")) == list(PAGES)
    assert "Admin" in _titles(_user("admin"))
    assert not any("Admin" in _titles(_user(r)) for r in ("designer", "operator", "auditor"))


def test_every_page_exists_and_one_is_the_landing_page() -> None:
    for entry in (SIGN_IN, *PAGES):
        assert (ROOT / entry.script).is_file(), entry.script
        assert entry.icon.startswith(":material/")
    assert [p.title for p in PAGES if p.default] == ["Home"]


def test_each_page_has_the_url_path_streamlit_gives_its_script() -> None:
    assert [url_path(p) for p in PAGES] == ["home", "review", "builder", "admin"]

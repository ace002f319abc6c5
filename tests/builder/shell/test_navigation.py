"""The role -> pages table: who gets which page."""

from __future__ import annotations

from pathlib import Path

from builder.shell.navigation import ALL_PAGES, PAGES, SIGN_IN, pages_for, present, url_path

ROOT = Path(__file__).resolve().parents[3]


def _user(*roles: str) -> dict:
    return {"name": "u", "display_name": None, "roles": list(roles), "teams": []}


def _titles(user: dict | None) -> list[str]:
    return [p.title for p in pages_for(user, ALL_PAGES)]


def test_a_visitor_gets_only_the_sign_in_page() -> None:
    assert pages_for(None) == [SIGN_IN]


def test_pages_by_role() -> None:
    assert _titles(_user("reviewer")) == ["Home", "Review"]
    assert _titles(_user("auditor")) == ["Home", "Dashboard", "Audit", "Runs"]
    assert _titles(_user("operator")) == ["Home", "Runs"]
    assert _titles(_user("designer")) == ["Home", "Builder", "Runs"]
    assert _titles(_user("reviewer", "designer")) == ["Home", "Builder", "Review", "Runs"]
    assert _titles(_user("admin")) == [
        "Home",
        "Builder",
        "Review",
        "Dashboard",
        "Audit",
        "Runs",
        "Admin",
    ]
    assert pages_for(_user("admin")) == list(PAGES)
    assert not any("Admin" in _titles(_user(r)) for r in ("designer", "operator", "auditor"))


def test_pages_whose_script_is_absent_are_left_out(tmp_path: Path) -> None:
    (tmp_path / "pages").mkdir()
    for name in ("home.py", "audit.py"):
        (tmp_path / "pages" / name).write_text("")
    assert [p.title for p in present(ALL_PAGES, tmp_path)] == ["Home", "Audit"]
    assert present(ALL_PAGES) == PAGES  # the installed pages: those with a script


def test_every_page_exists_and_one_is_the_landing_page() -> None:
    for entry in (SIGN_IN, *PAGES):
        assert (ROOT / entry.script).is_file(), entry.script
    for entry in (SIGN_IN, *ALL_PAGES):
        assert entry.icon.startswith(":material/")
    assert {"Audit", "Runs"} <= {p.title for p in PAGES}
    assert [p.title for p in PAGES if p.default] == ["Home"]


def test_each_page_has_the_url_path_streamlit_gives_its_script() -> None:
    assert [url_path(p) for p in PAGES] == [
        "home",
        "builder",
        "review",
        "dashboard",
        "audit",
        "runs",
        "admin",
    ]

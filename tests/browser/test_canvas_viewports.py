"""The Builder's canvas in Chromium at 1280x800 and 1920x1080 (issue 17): every example's
nodes are in the window at a readable size after fit-view (bounding boxes, computed font
size times zoom), with a screenshot of each; then on the 12-node ticket-routing example:
the minimap shown and hidden, an edit, undo and redo, a save, a save of the unchanged
workflow that makes no version, and the diff between the two versions."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from builder.shell.session import COOKIE
from runtime import loads_yaml
from tests.browser.conftest import settle, sign_in
from tests.browser.test_builder import canvas, wait_count

pytestmark = pytest.mark.browser
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SIZES = [(1280, 800), (1920, 1080)]
READABLE_PX = 11.0


def examples() -> list[tuple[str, int]]:
    """Every example workflow's id and node count."""
    out = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        spec = loads_yaml(path.read_text())
        out.append((spec.id, len(spec.nodes)))
    return out


_MEASURE = """() => {
  const vp = document.querySelector('.react-flow__viewport');
  const m = /scale\\(([\\d.]+)\\)/.exec(vp ? vp.style.transform : '');
  return {zoom: m ? parseFloat(m[1]) : 1, transform: vp ? vp.style.transform : '',
    nodes: [...document.querySelectorAll('.react-flow__node')].map(e => {
      const r = e.getBoundingClientRect();
      return {name: e.innerText.split('\\n')[0], x: r.x, y: r.y, w: r.width, h: r.height,
              font: parseFloat(getComputedStyle(e).fontSize)};
    })};
}"""


_LABELS_ON_NODES = """() => {
  const nodes = [...document.querySelectorAll('.react-flow__node')]
    .map(e => [e.innerText.split('\\n')[0], e.getBoundingClientRect()]);
  const labels = [...document.querySelectorAll('.react-flow__edge-textwrapper')]
    .map(e => [e.textContent, e.getBoundingClientRect()]);
  const out = [];
  for (const [text, r] of labels) for (const [name, b] of nodes) {
    const dx = Math.min(r.right, b.right) - Math.max(r.left, b.left);
    const dy = Math.min(r.bottom, b.bottom) - Math.max(r.top, b.top);
    if (dx > 1 && dy > 1) out.push(`${text} on ${name}`);
  }
  return [labels.length, out];
}"""


def labels_on_nodes(flow) -> tuple[int, list[str]]:
    """How many branch labels the canvas shows, and each one that covers part of a node."""
    count, over = flow.locator("body").evaluate(_LABELS_ON_NODES)
    return count, over


def measure(flow) -> dict:
    """The canvas's zoom and every node's box (in the canvas frame) and font size."""
    return flow.locator("body").evaluate(_MEASURE)


def fitted(page, flow, count: int, timeout_s: float = 25) -> dict:
    """Wait for ``count`` nodes on the canvas and a fit-view that stopped moving them."""
    deadline, last = time.monotonic() + timeout_s, None
    while True:
        now = measure(flow) if flow.locator(".react-flow__viewport").count() else None
        if now and len(now["nodes"]) == count and last and now["transform"] == last["transform"]:
            return now
        assert time.monotonic() < deadline, f"the canvas did not settle on {count} nodes: {now}"
        last = now
        page.wait_for_timeout(200)


def wait_cookie(page, timeout_s: float = 15) -> None:
    """Wait until the browser holds the session cookie (set a moment after sign-in)."""
    deadline = time.monotonic() + timeout_s
    while not any(c["name"] == COOKIE for c in page.context.cookies()):
        assert time.monotonic() < deadline, "no session cookie after sign-in"
        page.wait_for_timeout(200)


def assert_readable_in_view(page, seen: dict, what: str) -> None:
    """Every node's box is inside the window and inside the canvas (which clips), and its
    text shows at >= 11 px (computed font size times the zoom)."""
    size = page.viewport_size
    frame = page.locator("iframe[title*='streamlit_flow']").first.bounding_box()
    assert frame["y"] + frame["height"] <= size["height"], f"{what}: canvas below the fold"
    for n in seen["nodes"]:
        x, y = frame["x"] + n["x"], frame["y"] + n["y"]
        assert n["x"] >= 0 and n["x"] + n["w"] <= frame["width"], f"{what}: {n} outside"
        assert n["y"] >= 0 and n["y"] + n["h"] <= frame["height"], f"{what}: {n} outside"
        assert x >= 0 and x + n["w"] <= size["width"], f"{what}: {n} outside the window"
        assert y >= 0 and y + n["h"] <= size["height"], f"{what}: {n} outside the window"
        shown = n["font"] * seen["zoom"]
        assert shown >= READABLE_PX, f"{what}: {n['name']} text at {shown:.1f} px"


def test_every_example_is_readable_and_ticket_routing_edits_undo_save_diff(
    server: str, browser, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("LOOPGATE_SHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=dict(zip(("width", "height"), SIZES[0])))
    page = context.new_page()
    sign_in(page, server)
    wait_cookie(page)  # each goto below is a new session: the cookie signs it in
    taken, started = [], time.monotonic()
    for workflow_id, count in examples():
        page.goto(f"{server}/builder?workflow={workflow_id}")
        for width, height in SIZES:
            flow = canvas(page)
            if (width, height) != SIZES[0]:  # the window made larger: fit the view again
                page.set_viewport_size({"width": width, "height": height})
                fitted(page, flow, count)
                flow.locator(".react-flow__controls-fitview").click()
            seen = fitted(page, flow, count)
            assert_readable_in_view(page, seen, f"{workflow_id} at {width}x{height}")
            if workflow_id == "ticket-routing":  # its switch has long branch names
                labels, over = labels_on_nodes(flow)
                assert labels == 7 and over == [], f"at {width}x{height}: {over}"
            path = shots / f"builder-{workflow_id}-{width}x{height}.png"
            page.screenshot(path=str(path))
            taken.append(path)
        page.set_viewport_size(dict(zip(("width", "height"), SIZES[0])))
    assert len(taken) == 2 * len(examples()) and all(p.stat().st_size > 10_000 for p in taken)
    print(f"{len(taken)} screenshots checked in {time.monotonic() - started:.1f} s")
    started = time.monotonic()
    edit_undo_save_diff(page, server, shots)
    print(f"edit, undo, save, diff in {time.monotonic() - started:.1f} s")
    context.close()


def edit_undo_save_diff(page, server: str, shots: Path) -> None:
    """On ticket-routing: minimap on and off, a parameter changed, undone, redone, saved;
    saved again unchanged (no new version); the diff of v1 and v2."""
    if "workflow=ticket-routing" not in page.url:  # the examples' loop ends on it
        page.goto(f"{server}/builder?workflow=ticket-routing")
        fitted(page, canvas(page), dict(examples())["ticket-routing"])
    flow = canvas(page)
    settle(page)
    minimap = flow.locator(".react-flow__minimap")
    for on in (True, False):
        page.get_by_role("button", name="View").click()
        page.get_by_text("Minimap", exact=True).click()
        wait_count(minimap, (lambda n: n == 1) if on else (lambda n: n == 0))
        page.keyboard.press("Escape")
        settle(page)
    undo = page.get_by_role("button", name="Undo")
    redo = page.get_by_role("button", name="Redo")
    assert undo.is_disabled() and redo.is_disabled()

    # an edit: the confidence gate's threshold, from the inspector of the clicked node
    gate = flow.locator(".react-flow__node", has_text="unsure")
    for _ in range(3):  # a click that lands during a rerun is lost: click until selected
        gate.click()
        try:
            page.get_by_role("textbox", name="Node id").and_(
                page.locator("[value=unsure]")
            ).wait_for(timeout=8_000)
            break
        except Exception:
            settle(page)
    threshold = page.get_by_role("textbox", name="Threshold")
    threshold.fill("0.7")
    page.get_by_role("button", name="Apply").click()
    gate.filter(has_text="threshold: 0.7").wait_for(timeout=20_000)
    settle(page)
    undo.click()
    gate.filter(has_text="threshold: 0.8").wait_for(timeout=20_000)
    settle(page)
    assert undo.is_disabled() and redo.is_enabled()
    redo.click()
    gate.filter(has_text="threshold: 0.7").wait_for(timeout=20_000)
    settle(page)

    for said in (
        "Saved ticket-routing v2: 1 node changed since v1.",
        "Nothing to save: the canvas is ticket-routing v2 as stored.",
    ):
        page.get_by_role("button", name="Save version").click()
        page.get_by_role("button", name="Save", exact=True).click()
        page.get_by_text(said).wait_for(timeout=20_000)
        page.keyboard.press("Escape")
        settle(page)
    page.get_by_text("v2 (published)").wait_for()

    page.get_by_role("tab", name="Versions").click()
    page.get_by_text("v1 → v2: 1 node changed").wait_for(timeout=20_000)
    page.get_by_text("threshold").last.wait_for()
    rows = page.locator("[data-testid='stTable'] tbody tr")
    assert rows.count() == 2  # the unchanged save made no v3
    page.get_by_text("v1 → v2").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "builder-versions-diff.png"))

"""The Builder's inspector shows the threshold a target_error confidence gate applies."""

from __future__ import annotations

from tests.pages.test_app_pages import builder


def test_a_target_error_gate_shows_its_chosen_threshold(seeded: None) -> None:
    at = builder()
    at.session_state["builder_open"] = "ticket-routing"  # as Home's "open in Builder" does
    at.run()
    ed = at.session_state["bld"]
    gates = [n for n in ed.state.nodes if n.data.get("lg_type") == "confidence_gate"]
    classify = {n.id for n in ed.state.nodes if n.data.get("lg_type") == "ai_classify"}
    gate = next((g for g in gates if g.data["lg_params"].get("of") in classify), None)
    assert gate is not None, "the opened example needs a confidence gate after ai_classify"
    params = dict(gate.data["lg_params"])
    params.pop("threshold", None)
    gate.data["lg_params"] = {**params, "target_error": 0.05}
    ed.selected = gate.id
    at.run()
    assert not at.exception, at.exception
    (box,) = [e for e in at.expander if e.label == "Chosen threshold"]
    text = " ".join(c.value for c in box.caption)
    assert "target error 5.0%" in text and "from calibration" in text, text

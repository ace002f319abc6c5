"""bench/learning_loop.py --quick: the whole round through the product for both kinds."""

from __future__ import annotations

import pytest

from bench.learning_loop import main


def test_quick_learning_loop_runs_both_kinds(capsys: pytest.CaptureFixture[str]) -> None:
    results = main(["--quick"])
    out = capsys.readouterr().out
    assert "| tfidf | before the round | v1 |" in out
    assert "| embeddings | after the round | v2 |" in out
    assert [r["kind"] for r in results] == ["tfidf", "embeddings"]
    for res in results:
        # Every waiting review was decided and became a training row of version 2.
        assert res["n_feedback"] == res["approved"] + res["corrected"] > 0
        assert res["before"]["version"] == 1 and res["after"]["version"] == 2
        for name in ("before", "after"):
            figures = res[name]
            for key in ("automation", "auto_error", "ece", "accuracy", "held_out_ece"):
                assert 0.0 <= figures[key] <= 1.0, (res["kind"], name, key)
    tfidf, embeddings = results
    # The generated data set is not trivial, and the embeddings option is the stronger one.
    assert tfidf["before"]["accuracy"] < 0.95
    assert embeddings["before"]["accuracy"] > tfidf["before"]["accuracy"]
    assert embeddings["before"]["automation"] > tfidf["before"]["automation"]

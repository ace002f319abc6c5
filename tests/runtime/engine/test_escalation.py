"""Escalation chains walked by the sweeper with a fake clock, SLAs, and racing sweepers."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest

from runtime.auth import add_user
from runtime.engine import Engine
from runtime.outbox import OutboxDispatcher
from runtime.services import default_services
from runtime.settings import SmtpSettings
from runtime.spec import loads_yaml
from tests.mailsink import mail_sink
from tests.runtime.nodes.helpers import problems_of

CHAIN = """
id: chain
name: Chain
input:
  amount: {type: number, required: true}
nodes:
  - id: start
    type: trigger
  - id: lead
    type: approval
    params:
      team: managers
      assignee: mia
      sla: 8h
      escalation:
{steps}
  - id: ok
    type: end
    params: {result: ok}
  - id: refused
    type: end
    params: {result: refused}
{late}edges:
  - {from: start, to: lead}
  - {from: lead, to: ok, branch: approved}
  - {from: lead, to: refused, branch: rejected}
{extra}
"""

STEPS = """\
        - {after: 4h, action: remind, to: "lead@example.com, boss@example.com", note: "please"}
        - {after: 1d, since: created, action: escalate, team: finance, note: "no answer"}
        - {after: 1d, action: approve}
"""


LATE = "  - id: late\n    type: end\n    params: {result: late}\n"


def chain(steps: str = STEPS, extra: str = ""):
    text = CHAIN.replace("{steps}", steps).replace("{extra}", extra)
    return loads_yaml(text.replace("{late}", LATE if extra else ""))


class Clock:
    """A fake clock the test moves."""

    def __init__(self, engine: Engine):
        self.now = engine.clock()
        engine.clock = lambda: self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def users(engine):
    add_user(engine.store, "fin", roles=["reviewer"], teams=["finance"])
    add_user(engine.store, "max", roles=["reviewer"], teams=["managers", "finance"])
    add_user(engine.store, "ops", roles=["operator"], teams=[])
    engine.forget_users()
    return engine


def kinds(engine, run_id):
    return [e["kind"] for e in engine.store.run_events(run_id)]


def test_the_sweeper_walks_remind_escalate_and_approve(users):
    engine = users
    clock = Clock(engine)
    res = engine.start(chain(), {"amount": 5})
    review = engine.store.get_review(res.review_id)
    assert review["next_step_at"] == clock.now + timedelta(hours=4)
    assert review["due_at"] == clock.now + timedelta(hours=8)
    assert review["escalation_step"] == 0

    clock.advance(hours=3)
    assert engine.sweep().model_dump(exclude={"runs"}) == engine.sweep().model_dump(
        exclude={"runs"}
    )
    assert "review.reminded" not in kinds(engine, res.run_id)

    clock.advance(hours=1)
    report = engine.sweep()
    assert report.reminded == [res.review_id]
    [mail] = engine.store.list_outbox(run_id=res.run_id)
    assert mail["recipient"] == "lead@example.com, boss@example.com"
    assert res.review_id in mail["subject"] and "please" in mail["body"]
    assert engine.sweep().reminded == []  # applied once
    assert len(engine.store.list_outbox(run_id=res.run_id)) == 1

    clock.advance(hours=20)
    report = engine.sweep()
    assert report.escalated == [res.review_id]
    review = engine.store.get_review(res.review_id)
    assert (review["team"], review["assignee"], review["priority"]) == ("finance", None, "high")
    assert review["note"] == "no answer" and review["status"] == "pending"
    assert review["escalation_step"] == 2

    clock.advance(days=1)
    report = engine.sweep()
    assert report.decided == [res.review_id]
    done = engine.get_run(res.run_id)
    assert (done.status, done.result) == ("succeeded", "ok")
    review = engine.store.get_review(res.review_id)
    assert (review["status"], review["decided_by"], review["action"]) == (
        "decided",
        "system",
        "approve",
    )
    events = [e for e in engine.store.run_events(res.run_id) if e["kind"].startswith("review.")]
    assert [(e["kind"], e["actor"]) for e in events] == [
        ("review.requested", None),
        ("review.reminded", "system"),
        ("review.escalated", "system"),
        ("review.expired", "system"),
    ]
    escalated = events[2]["data"]
    assert escalated["previous"] == {"team": "managers", "assignee": "mia", "priority": "normal"}
    assert escalated["step"] == 2 and escalated["note"] == "no answer"
    ok, _, _ = engine.store.verify_audit_chain()
    assert ok


def test_a_late_sweep_takes_every_due_step_in_order_and_the_timeout_branch(users):
    engine = users
    clock = Clock(engine)
    steps = (
        "        - {after: 1h, action: reassign, assignee: max}\n"
        "        - {after: 1h, action: timeout}\n"
    )
    wf = chain(steps, extra="  - {from: lead, to: late, branch: timeout}")
    res = engine.start(wf, {"amount": 5})
    clock.advance(days=3)
    report = engine.sweep()
    assert report.reassigned == [res.review_id] and report.timed_out == [res.review_id]
    assert engine.get_run(res.run_id).result == "late"
    names = kinds(engine, res.run_id)
    assert names.index("review.reassigned") < names.index("review.expired")


def test_racing_sweepers_apply_each_step_once(users, store):
    engine = users
    clock = Clock(engine)
    res = engine.start(chain(), {"amount": 5})
    other = Engine(store, services=default_services(store))
    other.clock = engine.clock
    clock.advance(hours=25)
    reports = []
    barrier = threading.Barrier(4)

    def sweep(e):
        barrier.wait()
        reports.append(e.sweep())

    threads = [threading.Thread(target=sweep, args=(e,)) for e in (engine, other) * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(len(r.reminded) for r in reports) == 1
    assert sum(len(r.escalated) for r in reports) == 1
    assert kinds(engine, res.run_id).count("review.reminded") == 1
    assert kinds(engine, res.run_id).count("review.escalated") == 1
    assert len(engine.store.list_outbox(run_id=res.run_id)) == 1
    assert engine.store.verify_audit_chain()[0]


def test_the_remind_email_arrives_at_the_smtp_sink(users):
    engine = users
    clock = Clock(engine)
    res = engine.start(chain(), {"amount": 5})
    clock.advance(hours=5)
    engine.sweep()
    with mail_sink() as sink:
        settings = SmtpSettings(host="127.0.0.1", port=sink.port, sender="loopgate@example.com")
        sent = OutboxDispatcher(engine.store, settings=settings).send_pending()
    assert [r.status for r in sent] == ["sent"]
    [msg] = sink.messages
    assert msg["To"] == "lead@example.com, boss@example.com"
    assert msg["Subject"] == f"Reminder: review {res.review_id} is waiting (lead)"
    assert "please" in msg.get_content()


def test_a_step_whose_assignee_cannot_decide_is_skipped_with_a_message(users):
    engine = users
    clock = Clock(engine)
    steps = "        - {after: 1h, action: reassign, assignee: ops}\n"
    res = engine.start(chain(steps), {"amount": 5})
    clock.advance(hours=2)
    report = engine.sweep()
    assert len(report.failed) == 1 and "step 1 skipped" in report.failed[0]
    assert "ops may not decide reviews" in report.failed[0]
    review = engine.store.get_review(res.review_id)
    assert review["assignee"] == "mia" and review["escalation_step"] == 1
    assert engine.sweep().failed == []


def test_the_old_deadline_fields_still_work(users):
    engine = users
    clock = Clock(engine)
    text = CHAIN.replace("{steps}\n", "        []\n").replace("{extra}", "").replace("{late}", "")
    text = text.replace(
        "      escalation:\n        []", "      deadline: 2h\n      on_timeout: reject"
    )
    res = engine.start(loads_yaml(text), {"amount": 5})
    assert engine.store.get_review(res.review_id)["next_step_at"] is None
    clock.advance(hours=3)
    assert engine.sweep().decided == [res.review_id]
    assert engine.get_run(res.run_id).result == "refused"


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (
            [{"after": "1h", "action": "approve"}, {"after": "2h", "action": "remind"}],
            "escalation step 1 (approve) ends the review, so it must be the last step",
        ),
        (
            [
                {"after": "4h", "action": "remind"},
                {"after": "2h", "since": "created", "action": "remind"},
            ],
            "escalation step 2 (remind) is due 2h after creation, not after step 1 (4h)",
        ),
        (
            [{"after": "1h", "action": "escalate"}],
            "escalation step 1 (escalate) needs a team or an assignee",
        ),
        (
            [{"after": "1h", "action": "remind", "to": "not-an-address"}],
            "'not-an-address' in 'to' is not an email address",
        ),
        (
            [{"after": "1h", "action": "default"}],
            "this checkpoint has no default decision",
        ),
        (
            [{"after": "1h", "action": "reassign", "team": "fin ance"}],
            "team 'fin ance' is not a name",
        ),
    ],
)
def test_bad_chains_are_refused_with_a_clear_message(steps, message):
    problems = problems_of("approval", team="t", escalation=steps)
    assert any(message in p for p in problems), problems


def test_a_bad_duration_and_both_deadline_and_chain_are_refused():
    problems = problems_of("approval", team="t", escalation=[{"after": "soon", "action": "remind"}])
    assert any("'soon' is not a duration" in p for p in problems), problems
    problems = problems_of(
        "approval", team="t", deadline="1h", escalation=[{"after": "1h", "action": "remind"}]
    )
    assert any("either deadline/on_timeout or an escalation chain" in p for p in problems)


def test_timeout_branch_comes_from_the_chain():
    from runtime.nodes import get_node_type

    ntype = get_node_type("approval")
    params = ntype.Params.model_validate(
        {"escalation": [{"after": "1h", "action": "timeout"}], "team": "t"}
    )
    assert "timeout" in ntype.branches(params)
    params = ntype.Params.model_validate(
        {"escalation": [{"after": "1h", "action": "reject"}], "team": "t"}
    )
    assert "timeout" not in ntype.branches(params)


def test_business_hours_move_the_sla_and_the_steps(users):
    engine = users
    friday_4pm_berlin = datetime(2026, 12, 4, 15, 0)
    engine.clock = lambda: friday_4pm_berlin
    steps = "        - {after: 2h, action: remind}\n"
    text = CHAIN.replace("{steps}", steps).replace("{extra}", "").replace("{late}", "")
    text = text.replace(
        "      sla: 8h\n",
        "      sla: 8h\n      business_hours: Mon-Fri 09:00-17:00 Europe/Berlin\n",
    )
    res = engine.start(loads_yaml(text), {"amount": 5})
    review = engine.store.get_review(res.review_id)
    assert review["next_step_at"] == datetime(2026, 12, 7, 9, 0)  # Monday 10:00 Berlin
    assert review["due_at"] == datetime(2026, 12, 7, 15, 0)  # 1h Friday + 7h Monday
    assert engine.sweep(datetime(2026, 12, 6, 12, 0)).reminded == []  # Sunday
    assert engine.sweep(datetime(2026, 12, 7, 9, 0)).reminded == [res.review_id]

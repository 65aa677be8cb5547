"""`tally.Tally` and the generated `tally_client` against a live server. The numbers are the
README's (the demo as of Mon 23 Nov 2026, data to Sun 22 Nov)."""

import pytest

from tally import STAGES, Tally, TallyError
from tally_client.models import (
    ChatResponse,
    ErrorBodyReason,
    MetricName,
    MetricQuery,
    MetricQueryKind,
    Outcome,
    Preset,
    PresetPeriod,
    QueryResponse,
    Translator,
)
from tally_client.types import Unset

DAU = "What was our DAU last week vs the week before?"
DAU_ANSWER = (
    "Daily active users (all acquisition channels, countries and devices) last week "
    "(Mon 16 – Sun 22 Nov 2026) averaged 245.6, down 0.3% from 246.3 the week before."
)


def only_summary(response: QueryResponse):
    assert not isinstance(response.data, Unset) and response.data is not None
    (row,) = response.data.summary
    return row


def test_ask_answers_in_english_with_the_exact_numbers(analyst):
    a = analyst.ask(DAU)
    assert isinstance(a, ChatResponse)
    assert a.outcome == Outcome.ANSWERED
    assert a.translator == Translator.RULES
    assert a.answer == DAU_ANSWER
    row = only_summary(a)
    assert row.metric == "dau"
    # 1,719 user-days over 7 days, against 1,724 the week before.
    assert row.value == pytest.approx(1719 / 7)
    assert row.previous == pytest.approx(1724 / 7)
    assert a.conversation_id.startswith("c_")
    # The DSL that ran comes back typed.
    assert isinstance(a.executed_dsl, MetricQuery)
    assert a.executed_dsl.to_dict()["compare"] == "previous_period"


def test_query_runs_the_dsl_the_question_became(analyst):
    asked = analyst.ask(DAU)
    q = analyst.query(asked.executed_dsl.to_dict())
    assert q.outcome == Outcome.ANSWERED
    assert q.translator == Translator.NONE
    assert q.answer == asked.answer
    assert only_summary(q).value == only_summary(asked).value


def test_query_takes_a_generated_model(analyst):
    dsl = MetricQuery(
        kind=MetricQueryKind.METRIC,
        metrics=[MetricName.DAU],
        period=PresetPeriod(preset=Preset.LAST_WEEK),
    )
    q = analyst.query(dsl)
    assert q.outcome == Outcome.ANSWERED
    row = only_summary(q)
    assert row.value == pytest.approx(1719 / 7)
    # No `compare`: no previous value.
    assert row.previous is None or isinstance(row.previous, Unset)


def test_a_follow_up_continues_the_conversation(analyst):
    first = analyst.ask(DAU)
    by_country = analyst.ask("and by country?", conversation_id=first.conversation_id)
    assert by_country.conversation_id == first.conversation_id
    assert by_country.outcome == Outcome.ANSWERED
    dsl = by_country.executed_dsl.to_dict()
    assert dsl["metrics"] == ["dau"] and dsl["group_by"] == ["country"]
    rows = by_country.data.breakdown
    assert len(rows) > 1
    assert all("country" in r.dimensions.to_dict() for r in rows)


def test_chat_streams_each_stage_then_the_answer(analyst):
    events = list(analyst.chat(DAU))
    names = [e.name for e in events]
    assert names == [*STAGES, "answer", "response"]
    for stage in events[:3]:
        assert stage.data["ms"] >= 0
    assert events[3].data["text"] == DAU_ANSWER
    final = events[4].response
    assert isinstance(final, ChatResponse)
    assert final.answer == DAU_ANSWER
    assert only_summary(final).value == pytest.approx(1719 / 7)


def test_a_streamed_follow_up_uses_the_conversation(analyst):
    first = analyst.ask(DAU)
    events = list(analyst.chat("and by device?", conversation_id=first.conversation_id))
    final = events[-1].response
    assert final.conversation_id == first.conversation_id
    assert final.executed_dsl.to_dict()["group_by"] == ["device"]


def test_an_invalid_query_is_an_error_with_diagnostics(analyst):
    with pytest.raises(TallyError) as raised:
        analyst.query({"kind": "metric", "metrics": ["nope"], "period": {"preset": "last_week"}})
    e = raised.value
    assert (e.status, e.code) == (400, "invalid_query")
    (d,) = e.body.diagnostics
    assert d.pointer == "/metrics/0"
    assert "dau" in d.allowed


def test_personal_data_is_refused_not_failed(analyst):
    q = analyst.query(
        {"kind": "list", "entity": "customer", "fields": ["company_name", "contact_email"]}
    )
    assert q.outcome == Outcome.REFUSED
    assert q.refusal.code.value == "pii_not_permitted"
    assert q.data is None or isinstance(q.data, Unset)


def test_a_bad_token_is_unauthorized(base_url):
    with Tally(base_url, "not-a-token") as t:
        with pytest.raises(TallyError) as raised:
            t.ask(DAU)
    e = raised.value
    assert (e.status, e.code) == (401, "unauthorized")
    assert e.body.reason == ErrorBodyReason.MALFORMED_TOKEN


def test_compile_shows_the_sql_without_running_it(analyst):
    c = analyst.compile(
        {"kind": "metric", "metrics": ["dau"], "period": {"preset": "last_week"}},
        dialect="postgres",
    )
    sql = c.sql["postgres"]
    assert "COUNT(DISTINCT" in sql and '"workspace_id" = $1' in sql
    assert "-- params: ['acme', '2026-11-16 00:00:00', '2026-11-23 00:00:00']" in sql


def test_catalog_and_schema_are_the_roles(analyst):
    names = {m.name for m in analyst.catalog().metrics}
    assert {"dau", "signups", "mrr"} <= names
    schema = analyst.schema()
    assert schema["required"] == ["query"]
    assert "dau" in schema["$defs"]["MetricName"]["enum"]


def test_the_admin_role_has_no_data(admin):
    a = admin.ask(DAU)
    assert a.outcome == Outcome.REFUSED
    assert a.data is None or isinstance(a.data, Unset)

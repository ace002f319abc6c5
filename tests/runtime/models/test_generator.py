"""Sandboxed template rendering for the builtin "generate" step."""

from __future__ import annotations

import pytest

from runtime.models import ModelError, render_text


def test_renders_variables_filters_and_loops() -> None:
    template = (
        "Dear {{ name | title }},\n"
        "{% for item in items %}- {{ item.product }}: {{ '%.2f' | format(item.price) }}\n"
        "{% endfor %}Total: {{ items | sum(attribute='price') }}"
    )
    data = {
        "name": "maria lopez",
        "items": [{"product": "Kettle", "price": 30}, {"product": "Lamp", "price": 12.5}],
    }
    assert render_text(template, data) == (
        "Dear Maria Lopez,\n- Kettle: 30.00\n- Lamp: 12.50\nTotal: 42.5"
    )


def test_output_is_plain_text_not_html_escaped() -> None:
    assert render_text("{{ a }}", {"a": "Tom & Jerry <3"}) == "Tom & Jerry <3"


def test_trailing_newline_is_kept() -> None:
    assert render_text("Hi {{ n }}\n", {"n": 1}) == "Hi 1\n"


def test_missing_variable_is_an_error_not_empty_text() -> None:
    with pytest.raises(ModelError, match="'order_id' is undefined"):
        render_text("Your order {{ order_id }} shipped", {"name": "x"})
    with pytest.raises(ModelError, match="has no attribute 'email'"):
        render_text("{{ customer.email }}", {"customer": {}})


def test_syntax_error_carries_jinja_message_and_line() -> None:
    with pytest.raises(ModelError, match=r"template error on line 2: .*"):
        render_text("fine\n{% if %}oops{% endif %}", {})
    with pytest.raises(ModelError, match=r"(?i)unexpected end of template"):
        render_text("{% for x in y %}never closed", {"y": []})


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ x.__class__.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ (1).__class__.__base__.__subclasses__() }}",
        "{{ data.__dict__ }}",
    ],
)
def test_sandbox_blocks_python_internals(template: str) -> None:
    class Thing:
        secret = "s3cret"

    with pytest.raises(ModelError, match=r"unsafe|undefined"):
        render_text(template, {"x": 1, "data": Thing()})


def test_sandbox_blocks_mutating_the_data() -> None:
    data = {"tags": ["a"], "meta": {"k": "v"}}
    with pytest.raises(ModelError, match="unsafe"):
        render_text("{{ tags.append('b') }}", data)
    with pytest.raises(ModelError, match="unsafe"):
        render_text("{{ meta.update(k='changed') }}", data)
    assert data == {"tags": ["a"], "meta": {"k": "v"}}


def test_sandbox_limits_huge_ranges() -> None:
    with pytest.raises(ModelError, match=r"MAX_RANGE|range"):
        render_text("{% for i in range(10**9) %}{% endfor %}", {})


def test_runtime_errors_become_model_errors() -> None:
    with pytest.raises(ModelError, match="ZeroDivisionError"):
        render_text("{{ a / b }}", {"a": 1, "b": 0})


def test_bad_arguments() -> None:
    with pytest.raises(ModelError, match="must be text"):
        render_text(None, {})  # type: ignore[arg-type]
    with pytest.raises(ModelError, match="mapping"):
        render_text("{{ a }}", [("a", 1)])  # type: ignore[arg-type]


def test_same_template_twice_uses_fresh_data() -> None:
    template = "Hello {{ who }}"
    assert render_text(template, {"who": "Ann"}) == "Hello Ann"
    assert render_text(template, {"who": "Ben"}) == "Hello Ben"

#!/usr/bin/env python3
"""Generates the golden renderings the Java Jinja engine is tested against.

Renders every chat template under worker/src/test/resources/chat-templates/templates with every
conversation below, and every small feature template below, using Python's jinja2 configured the
way transformers' apply_chat_template configures it (ImmutableSandboxedEnvironment with
trim_blocks, lstrip_blocks and the loopcontrols extension, transformers' tojson, raise_exception
and strftime_now globals, the {% generation %} tag). The outputs are committed; CI has no Python,
so the Java tests only read them.

    python3 tools/generate_chat_template_golden.py      # from the repository root

Needs jinja2 (3.1.x). strftime_now reads a fixed time so that the outputs are stable.
"""
import json
import os
import sys
from datetime import datetime

import jinja2
from jinja2 import nodes
from jinja2.exceptions import TemplateError
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RES = os.path.join(ROOT, "worker", "src", "test", "resources", "chat-templates")
FIXED_NOW = datetime(2025, 3, 7, 14, 5, 9)


class AssistantTracker(Extension):
    """transformers' {% generation %} tag; rendering only needs its body."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_generation_support"), [], [], body).set_lineno(lineno)

    def _generation_support(self, caller):
        return caller()


def raise_exception(message):
    raise TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(fmt):
    return FIXED_NOW.strftime(fmt)


def environment():
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[AssistantTracker, jinja2.ext.loopcontrols]
    )
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def render(env, source, variables):
    try:
        return {"output": env.from_string(source).render(**variables)}
    except TemplateError as e:
        kind = "raised" if type(e) is TemplateError else type(e).__name__
        return {"error": kind, "message": str(e)}
    except Exception as e:  # TypeError and friends surface as errors too
        return {"error": type(e).__name__, "message": str(e)}


LLAMA = {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}
QWEN = {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"}
TEMPLATES = {
    "llama3.jinja": LLAMA,
    "llama3.1.jinja": LLAMA,
    "qwen2.5.jinja": QWEN,
    "qwen3.jinja": QWEN,
}

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather — in °C",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name, e.g. \"Zürich\""}},
            "required": ["city"],
        },
    },
}


def u(c):
    return {"role": "user", "content": c}


def a(c, **extra):
    m = {"role": "assistant", "content": c}
    m.update(extra)
    return m


def s(c):
    return {"role": "system", "content": c}


CASES = [
    ("user_assistant", [u("Hello!"), a("Hi there. How can I help?")], False, {}),
    ("system_user_assistant", [s("You are terse."), u("Hello!"), a("Hi.")], False, {}),
    (
        "multi_turn",
        [s("You are a helpful assistant."), u("Reverse: red fox"), a("fox red"), u("Now: blue cat"), a("cat blue")],
        False,
        {},
    ),
    ("prompt_only", [u("What is the capital of France?")], True, {}),
    ("multi_turn_prompt", [s("Be brief."), u("Hi"), a("Hello."), u("Bye")], True, {}),
    (
        "unicode",
        [
            u("Übersetze: 你好, мир! 😀 “quotes” and 'single' \\ backslash\ttab"),
            a("こんにちは 🌍\n\nzweite Zeile – done ✓"),
        ],
        False,
        {},
    ),
    ("whitespace", [u("  leading and trailing spaces  \n"), a("\n\nanswer with blank lines\n\n")], False, {}),
    ("empty_assistant", [u("say nothing"), a("")], False, {}),
    ("system_in_middle", [u("Hi"), a("Hello"), s("Switch to French."), u("Bye"), a("Au revoir")], False, {}),
    ("think_in_content", [u("What is 2+2?"), a("<think>\nSimple arithmetic.\n</think>\n\nThe answer is 4.")], False, {}),
    (
        "think_multi_turn",
        [
            u("What is 2+2?"),
            a("<think>\nSimple arithmetic.\n</think>\n\nThe answer is 4."),
            u("And 3+3?"),
            a("<think>\nAgain simple.\n</think>\n\nThe answer is 6."),
        ],
        False,
        {},
    ),
    (
        "reasoning_content_field",
        [u("2+2?"), a("4", reasoning_content="Add two and two."), u("3+3?"), a("6", reasoning_content="\nAdd three and three.\n")],
        False,
        {},
    ),
    ("enable_thinking_false", [u("Quick answer please.")], True, {"enable_thinking": False}),
    ("enable_thinking_true", [u("Think hard.")], True, {"enable_thinking": True}),
    ("tools", [u("Weather in Zürich?")], True, {"tools": [WEATHER_TOOL]}),
    ("tools_with_system", [s("You call tools."), u("Weather in Bern?")], True, {"tools": [WEATHER_TOOL]}),
    ("tools_without_user", [s("Only a system prompt.")], True, {"tools": [WEATHER_TOOL]}),
    (
        "tool_call_round_trip",
        [
            u("Weather in Zürich?"),
            a("", tool_calls=[{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Zürich"}}}]),
            {"role": "tool", "content": "{\"temp\": 21.5}"},
            a("It is 21.5 °C in Zürich."),
        ],
        False,
        {},
    ),
    (
        "two_tool_calls",
        [
            u("Weather in Bern and Basel?"),
            a(
                "",
                tool_calls=[
                    {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Bern"}}},
                    {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Basel"}}},
                ],
            ),
        ],
        False,
        {},
    ),
    ("date_string", [u("What day is it?")], True, {"date_string": "01 Jan 2025"}),
]


def golden_chat():
    env = environment()
    out = []
    for template_name, special in TEMPLATES.items():
        with open(os.path.join(RES, "templates", template_name), encoding="utf-8", newline="") as f:
            source = f.read()
        for name, messages, agp, extra in CASES:
            variables = {"messages": messages, "tools": None, "documents": None, "add_generation_prompt": agp}
            variables.update(special)
            variables.update(extra)
            entry = {"template": template_name, "case": name, "variables": variables}
            entry.update(render(env, source, variables))
            out.append(entry)
    return out


# Small templates, one feature or corner each: (name, template, variables).
FEATURES = [
    # whitespace control, trim_blocks, lstrip_blocks
    ("trim_blocks", "{% if true %}\nyes\n{% endif %}\nafter", {}),
    ("lstrip_blocks", "line\n    {% if true %}\n    indented\n    {% endif %}\nend", {}),
    ("lstrip_comment", "a\n   {# comment #}\nb", {}),
    ("minus_left", "a   \n\n  {%- if true %}b{% endif %}", {}),
    ("minus_right", "{% if true -%}   \n\n  b{% endif %}", {}),
    ("minus_print", "x  \n {{- 'y' -}}  \n z", {}),
    ("plus_disables_lstrip", "a\n    {%+ if true %}b{% endif %}", {}),
    ("plus_disables_trim", "{% if true +%}\nb{% endif %}", {}),
    ("var_not_lstripped", "a\n    {{ 'b' }}\n", {}),
    ("trailing_newline_dropped", "text\n", {}),
    ("two_trailing_newlines", "text\n\n", {}),
    ("crlf_source", "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\nc", {}),
    ("comment_minus", "a {#- c -#} b", {}),
    ("raw_block", "{% raw %}{{ not evaluated }}{% endraw %}", {}),
    ("tab_indent_block", "x\n\t\t{% for i in [1,2] %}\n\t{{ i }}\n\t\t{% endfor %}\ny", {}),
    ("text_then_block_same_line", "text {% if true %}t{% endif %}\n", {}),
    # literals and printing
    ("print_types", "{{ none }}|{{ true }}|{{ false }}|{{ 42 }}|{{ -7 }}|{{ 3.5 }}|{{ 'str' }}|{{ [1, 'a', none] }}|{{ {'k': 'v', 'n': 1} }}|{{ (1, 2) }}|{{ (1,) }}", {}),
    ("float_repr", "{{ 1.0 }} {{ 0.1 + 0.2 }} {{ 1e-5 }} {{ 1e16 }} {{ 1.5e300 }} {{ 123456.789 }} {{ 2.5e-4 }} {{ 100.0 / 3 }}", {}),
    ("string_escapes", "{{ 'a\\nb\\tc\\\\d\\'e\\\"f\\x41\\u00e9\\U0001F600' }}", {}),
    ("repr_escapes", "{{ ['it\\'s', 'q\"', 'both\\'\"', 'nl\\n', 'é😀', '\\x01'] }}", {}),
    ("adjacent_strings", "{{ 'a' 'b' \"c\" }}", {}),
    ("integer_forms", "{{ 0x1F }} {{ 0o17 }} {{ 0b101 }} {{ 1_000 }}", {}),
    ("undefined_prints_empty", "[{{ nothing }}][{{ d.missing }}][{{ l[5] }}]", {"d": {}, "l": [1]}),
    # operators and precedence
    ("arithmetic", "{{ 7 + 3 }} {{ 7 - 10 }} {{ 7 * 3 }} {{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 2.5 * 2 }}", {}),
    ("precedence", "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }} {{ 10 - 2 - 3 }} {{ not true or true }} {{ not (true or true) }}", {}),
    ("filter_binds_tighter", "{{ 'a' + '  b  ' | trim + 'c' }}|{{ -3 | abs }}|{{ [1,2,3] | length - 1 }}", {}),
    ("tilde_concat", "{{ 'a' ~ 1 ~ none ~ true ~ [1] ~ nothing }}", {}),
    ("string_plus", "{{ 'ab' + 'cd' }} {{ 'ab' * 3 }} {{ [1] + [2, 3] }} {{ [0] * 3 }}", {}),
    ("comparisons", "{{ 1 < 2 }} {{ 2 <= 2 }} {{ 'a' < 'b' }} {{ 1 == 1.0 }} {{ 1 != 2 }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ [1, 2] < [1, 3] }} {{ true == 1 }}", {}),
    ("in_operator", "{{ 'ell' in 'hello' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 'x' not in 'abc' }} {{ 3 not in [1, 2] }} {{ 'a' in nothing }}", {}),
    ("and_or_values", "{{ 0 or 'fallback' }} {{ 'x' and 'y' }} {{ none or [] }} {{ '' and 'never' }}", {}),
    ("cond_expr", "{{ 'yes' if true else 'no' }} {{ 'yes' if false else 'no' }} [{{ 'only' if false }}] {{ 1 if false else 2 if true else 3 }}", {}),
    # variables, scoping, namespace
    ("set_and_use", "{% set x = 5 %}{% set y = x * 2 %}{{ y }}", {}),
    ("set_tuple", "{% set a, b = 1, 2 %}{{ a }}{{ b }}", {}),
    ("set_block", "{% set body %}Hello {{ name }}!{% endset %}[{{ body }}]", {"name": "you"}),
    ("set_block_filter", "{% set body | upper %}hello{% endset %}{{ body }}", {}),
    ("loop_scope_does_not_leak", "{% set x = 1 %}{% for i in [1, 2, 3] %}{{ x }}{% set x = x + 1 %}{{ x }},{% endfor %}{{ x }}", {}),
    ("if_scope_leaks", "{% if true %}{% set x = 3 %}{% endif %}{{ x }}", {}),
    ("namespace_counter", "{% set ns = namespace(count=0, items=[]) %}{% for i in range(4) %}{% set ns.count = ns.count + i %}{% endfor %}{{ ns.count }}", {}),
    ("namespace_from_dict", "{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }}{{ ns.c }}", {}),
    ("shadow_context_var", "{% set messages = messages[1:] %}{{ messages | length }}", {"messages": [1, 2, 3]}),
    ("with_block", "{% with a = 1, b = 'x' %}{{ a }}{{ b }}{% endwith %}[{{ a }}]", {}),
    # loops
    ("loop_vars", "{% for x in ['a', 'b', 'c'] %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }}{{ loop.revindex0 }}|{% endfor %}", {}),
    ("loop_prev_next", "{% for x in [1, 2, 3] %}{{ loop.previtem }}-{{ x }}-{{ loop.nextitem }};{% endfor %}", {}),
    ("loop_cycle", "{% for x in range(5) %}{{ loop.cycle('a', 'b') }}{% endfor %}", {}),
    ("loop_else", "{% for x in [] %}item{% else %}empty{% endfor %}", {}),
    ("loop_filter", "{% for x in range(10) if x is odd %}{{ x }}{{ loop.length }},{% endfor %}", {}),
    ("loop_dict", "{% for k in {'b': 1, 'a': 2} %}{{ k }}{% endfor %}{% for k, v in {'b': 1, 'a': 2}.items() %}{{ k }}={{ v }};{% endfor %}", {}),
    ("loop_string", "{% for c in 'héllo😀' %}[{{ c }}]{% endfor %}", {}),
    ("loop_break_continue", "{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 5 %}{% break %}{% endif %}{{ i }}{% endfor %}", {}),
    ("nested_loops", "{% for i in [1, 2] %}{% for j in ['a', 'b'] %}{{ i }}{{ j }}{{ loop.index }}{% endfor %}{{ loop.index }} {% endfor %}", {}),
    ("loop_reversed_slice", "{% for m in messages[::-1] %}{{ m }}{{ loop.index0 }}{% endfor %}", {"messages": ["a", "b", "c"]}),
    ("loop_undefined", "{% for x in nothing %}x{% endfor %}ok", {}),
    # slicing and subscripts
    ("slicing", "{{ [1, 2, 3, 4, 5][1:3] }} {{ [1, 2, 3, 4, 5][::-1] }} {{ [1, 2, 3, 4, 5][::2] }} {{ [1, 2, 3, 4, 5][-2:] }} {{ [1, 2, 3, 4, 5][:-2] }} {{ [1, 2, 3, 4, 5][4:1:-1] }} {{ [1, 2, 3][5:] }}", {}),
    ("string_slicing", "{{ 'hello'[1:] }} {{ 'hello'[::-1] }} {{ 'hello'[-1] }} {{ 'héllo😀x'[4:6] }} {{ 'abc'[10:] }}", {}),
    ("subscripts", "{{ d['a'] }} {{ d.a }} {{ l[0] }} {{ l[-1] }} {{ l.0 }} {{ d['items'] }} {{ nested.x[1].y }}", {"d": {"a": 1, "items": "key"}, "l": [10, 20], "nested": {"x": [0, {"y": "deep"}]}}),
    ("dict_method_shadows_key", "{{ d.items is callable }} {{ d['items'] }} {{ d.get('items') }}", {"d": {"items": "key"}}),
    # string methods
    ("str_methods", "{{ '  x  '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ '\\n\\nhi\\n'.lstrip('\\n') }}|{{ 'hi\\n\\n'.rstrip('\\n') }}|{{ 'hi  '.rstrip() }}|{{ 'Hello'.lower() }}|{{ 'Hello'.upper() }}|{{ 'hello world'.title() }}|{{ 'hELLO'.capitalize() }}", {}),
    ("str_split", "{{ 'a,b,,c'.split(',') }} {{ '  a  b c '.split() }} {{ 'a b c'.split(' ', 1) }} {{ 'a</think>b</think>c'.split('</think>')[-1] }} {{ 'x'.split('y') }} {{ 'a,b,c'.rsplit(',', 1) }}", {}),
    ("str_startswith", "{{ 'hello'.startswith('he') }} {{ 'hello'.endswith('lo') }} {{ 'hello'.startswith(('x', 'h')) }} {{ 'hello'.endswith('x') }}", {}),
    ("str_misc", "{{ 'a-b-c'.replace('-', '+') }} {{ 'a-b-c'.replace('-', '', 1) }} {{ 'hello'.find('l') }} {{ 'hello'.count('l') }} {{ ', '.join(['a', 'b']) }} {{ '42'.isdigit() }} {{ 'ab'.isalpha() }} {{ '7'.zfill(3) }} {{ 'a\\nb'.splitlines() }}", {}),
    ("qwen_think_parsing", "{% set content = c %}{% set r = content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') %}{% set content = content.split('</think>')[-1].lstrip('\\n') %}[{{ r }}][{{ content }}]", {"c": "<think>\nreason here\n</think>\n\nfinal answer"}),
    # filters
    ("filter_trim_length", "{{ '  hi  ' | trim }}|{{ 'xhix' | trim('x') }}|{{ 'héllo😀' | length }}|{{ [1, 2] | length }}|{{ {'a': 1} | count }}|{{ nothing | length }}", {}),
    ("filter_case", "{{ 'Hi' | lower }} {{ 'Hi' | upper }} {{ 'hi there' | title }} {{ 'hI' | capitalize }}", {}),
    ("filter_string", "{{ 1 | string }} {{ none | string }} {{ [1] | string }} {{ (1 | string) + 'x' }}", {}),
    ("filter_replace", "{{ 'aaa' | replace('a', 'b') }} {{ 'aaa' | replace('a', 'b', 2) }}", {}),
    ("filter_join", "{{ [1, 2, 3] | join }} {{ ['a', 'b'] | join(', ') }} {{ users | join('/', attribute='name') }}", {"users": [{"name": "x"}, {"name": "y"}]}),
    ("filter_first_last", "{{ [1, 2, 3] | first }} {{ [1, 2, 3] | last }} {{ 'abc' | first }} [{{ [] | first }}]", {}),
    ("filter_default", "{{ nothing | default('dflt') }} {{ '' | default('dflt') }} {{ '' | default('dflt', true) }} {{ none | d('x') }} {{ 0 | default(5, boolean=true) }}", {}),
    ("filter_selectattr", "{{ msgs | selectattr('role', 'equalto', 'user') | list | length }} {{ msgs | rejectattr('role', 'equalto', 'user') | map(attribute='content') | join(',') }} {{ msgs | selectattr('flag') | map(attribute='content') | list }}", {"msgs": [{"role": "user", "content": "u1", "flag": True}, {"role": "assistant", "content": "a1"}, {"role": "user", "content": "u2"}]}),
    ("filter_select_reject", "{{ [1, 2, 3, 4] | select('odd') | list }} {{ [1, 2, 3, 4] | reject('odd') | list }} {{ [0, 1, '', 'x'] | select | list }} {{ ['a', 'code_interpreter', 'b'] | reject('equalto', 'code_interpreter') | join(', ') }}", {}),
    ("filter_map", "{{ ['a', 'b'] | map('upper') | list }} {{ [{'x': 1}, {}] | map(attribute='x', default=0) | list }}", {}),
    ("filter_tojson", "{{ data | tojson }}|{{ data | tojson(indent=2) }}|{{ {'b': 1, 'a': [1, 2.5, none, true]} | tojson(sort_keys=true) }}|{{ 'é\"\\n' | tojson }}|{{ [] | tojson(indent=4) }}|{{ {} | tojson }}|{{ {'a': []} | tojson(indent=2) }}|{{ 'x' | tojson(ensure_ascii=true) }}|{{ 'é😀' | tojson(ensure_ascii=true) }}|{{ {'k': 'v'} | tojson(separators=[',', ':']) }}", {"data": {"name": "get_weather", "n": 3, "f": 0.5, "nested": {"list": [1, "two", None, False]}, "unicode": "Zürich ☀"}}),
    ("filter_items_dictsort", "{% for k, v in d | items %}{{ k }}{{ v }}{% endfor %} {{ d | dictsort }} {{ d | dictsort(by='value', reverse=true) }}", {"d": {"b": 2, "a": 3, "C": 1}}),
    ("filter_sort_unique", "{{ [3, 1, 2] | sort }} {{ ['b', 'A', 'c'] | sort }} {{ ['b', 'A', 'c'] | sort(case_sensitive=true) }} {{ [3, 1, 2] | sort(reverse=true) }} {{ [{'n': 2}, {'n': 1}] | sort(attribute='n') | map(attribute='n') | list }} {{ ['a', 'A', 'b', 'a'] | unique | list }}", {}),
    ("filter_numbers", "{{ -3 | abs }} {{ '42' | int }} {{ 'x' | int }} {{ 'x' | int(7) }} {{ 3.7 | int }} {{ '2.5' | float }} {{ 2.675 | round(2) }} {{ 2.5 | round }} {{ 3.14159 | round(2, 'floor') }} {{ [1, 2, 3] | sum }} {{ [1, 5, 3] | max }} {{ [1, 5, 3] | min }}", {}),
    ("filter_list_reverse", "{{ 'abc' | list }} {{ [1, 2, 3] | reverse | list }} {{ 'abc' | reverse }}", {}),
    ("filter_indent", "[{{ 'a\\nb\\n\\nc' | indent(2) }}][{{ 'a\\nb' | indent(4, true) }}][{{ 'a\\n\\nb' | indent(2, blank=true) }}]", {}),
    ("filter_misc", "{{ 'a b  c' | wordcount }} {{ '<b>&' | escape }} {{ '<b>' | safe }} {{ '%s-%s' | format('a', 'b') }} {{ [1, 2, 3, 4, 5] | batch(2) | list }} {{ 'hello world foo' | truncate(9, leeway=0) }} {{ 'hi' | center(6) }}", {}),
    ("filter_chain_on_call", "{{ ('a,b'.split(',') | join('+')) }}", {}),
    ("filter_block", "{% filter upper %}hello {{ name }}{% endfilter %}", {"name": "bob"}),
    # tests
    ("tests_defined", "{{ x is defined }} {{ nothing is defined }} {{ nothing is undefined }} {{ d.k is defined }} {{ d.z is defined }}", {"x": 1, "d": {"k": None}}),
    ("tests_types", "{{ none is none }} {{ 'a' is string }} {{ 1 is string }} {{ {} is mapping }} {{ [] is mapping }} {{ [] is sequence }} {{ 'a' is sequence }} {{ {} is sequence }} {{ 1 is sequence }} {{ 'a' is iterable }} {{ 1 is iterable }} {{ 1 is number }} {{ 1.5 is float }} {{ 1 is integer }} {{ true is boolean }} {{ true is integer }} {{ true is number }}", {}),
    ("tests_values", "{{ 2 is even }} {{ 3 is odd }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }} {{ 'a' is equalto 'a' }} {{ 1 is eq 2 }} {{ 1 is lt 2 }} {{ 3 is gt 2 }} {{ 2 is in [1, 2] }} {{ 'ab' is lower }} {{ 'AB' is upper }} {{ none is sameas none }} {{ true is true }} {{ 0 is false }}", {}),
    ("tests_negated", "{{ 1 is not none }} {{ not 1 is none }} {{ nothing is not defined }} {{ x is not string and true }}", {"x": 3}),
    ("test_callable_filter_name", "{{ range is callable }} {{ 'upper' is filter }} {{ 'odd' is test }} {{ 'nope' is filter }}", {}),
    # globals
    ("range_global", "{{ range(3) | list }} {{ range(1, 7, 2) | list }} {{ range(5, 0, -2) | list }}", {}),
    ("dict_global", "{{ dict(a=1, b='x') }} {{ dict({'z': 0}, y=1) }}", {}),
    ("strftime_now", "{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%d %H:%M:%S') }}|{{ strftime_now('%A %B %j %I%p %y') }}", {}),
    ("raise_exception", "before{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}", {}),
    ("raise_in_branch", "{% if messages[0].role != 'user' %}{{ raise_exception('first message must be from the user') }}{% endif %}ok", {"messages": [{"role": "assistant"}]}),
    # macros
    ("macro", "{% macro greet(name, punct='!') %}Hello {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', '?') }} {{ greet(name='C', punct='.') }}", {}),
    ("macro_sees_globals", "{% set sep = '|' %}{% macro j(items) %}{{ items | join(sep) }}{% endmacro %}{{ j([1, 2]) }}", {}),
    ("macro_in_loop", "{% macro render(m) %}<{{ m.role }}:{{ m.content | trim }}>{% endmacro %}{% for m in msgs %}{{ render(m) }}{% endfor %}", {"msgs": [{"role": "user", "content": " hi "}, {"role": "assistant", "content": "yo"}]}),
    ("generation_tag", "{% for m in msgs %}{% if m.role == 'assistant' %}{% generation %}{{ m.content }}{% endgeneration %}{% else %}{{ m.content }}{% endif %}|{% endfor %}", {"msgs": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}),
    # dicts and lists
    ("dict_methods", "{{ d.get('a') }} {{ d.get('z') }} {{ d.get('z', 'dflt') }} {{ d.keys() | list }} {{ d.values() | list }} {{ d.items() | list }} {{ 'a' in d }}", {"d": {"a": 1, "b": 2}}),
    ("dict_literal", "{{ {'a': 1, 'b': [1, 2], 'c': {'d': none}} }} {{ {1: 'int key', true: 'bool overrides 1'} }}", {}),
    ("list_methods", "{{ [1, 2, 1].count(1) }} {{ ['a', 'b'].index('b') }}", {}),
    ("message_attr_vs_item", "{% for m in msgs %}{{ m.role }}/{{ m['content'] }}/{{ m.tool_calls }}/{{ m.tool_calls is defined }}/{{ 'tool_calls' in m }};{% endfor %}", {"msgs": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y", "tool_calls": [1]}]}),
    ("none_attribute_is_undefined", "[{{ none.x }}][{{ none['x'] }}]", {}),
    # errors (Python raises; the Java engine must refuse too)
    ("error_undefined_attr", "{{ nothing.attr }}", {}),
    ("error_undefined_plus", "{{ nothing + 'x' }}", {}),
    ("error_str_plus_int", "{{ 'a' + 1 }}", {}),
    ("error_none_plus_str", "{{ 'a' + none }}", {}),
    ("error_unsafe_append", "{% set l = [] %}{{ l.append(1) }}", {}),
    ("error_namespace_assign", "{% set x = 1 %}{% set x.a = 2 %}", {}),
    ("error_division_by_zero", "{{ 1 / 0 }}", {}),
    ("error_call_undefined", "{{ nothing() }}", {}),
    ("error_in_int_string", "{{ 1 in 'abc' }}", {}),
    ("error_iterate_none", "{% for x in none %}{% endfor %}", {}),
    ("error_tojson_undefined", "{{ nothing | tojson }}", {}),
]


def golden_features():
    env = environment()
    out = []
    for name, source, variables in FEATURES:
        entry = {"name": name, "template": source, "variables": variables}
        entry.update(render(env, source, variables))
        out.append(entry)
    return out


def main():
    if jinja2.__version__.split(".")[:2] != ["3", "1"]:
        print("warning: expected jinja2 3.1.x, found " + jinja2.__version__, file=sys.stderr)
    for file, data in [("golden.json", golden_chat()), ("features.json", golden_features())]:
        with open(os.path.join(RES, file), "w", encoding="utf-8", newline="\n") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
            f.write("\n")
        errors = sum(1 for d in data if "error" in d)
        print(f"{file}: {len(data)} renderings, {errors} of them errors")


if __name__ == "__main__":
    main()

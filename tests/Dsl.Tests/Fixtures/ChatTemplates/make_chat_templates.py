#!/usr/bin/env python3
"""Writes cases.json: chat templates in the layouts model families use (written here, in their styles) and one of the parts
none of them uses, each rendered over several conversations by jinja2 exactly as transformers' apply_chat_template renders
(ImmutableSandboxedEnvironment with trim_blocks and lstrip_blocks, the loopcontrols extension, transformers' tojson,
raise_exception and strftime_now), with the text each gives or the error each raises. Needs Debian's python3-jinja2:

    /usr/bin/python3 make_chat_templates.py
"""
import json
from datetime import datetime

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment


def compile_template(source):
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return datetime.now().strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env.from_string(source)


# LLaMA 3.1's layout: headers per message, the system message first with a date, tools as indented JSON, one tool call per
# assistant turn, tool results under "ipython"
LLAMA3 = """{{- bos_token }}
{%- if not date_string is defined %}
    {%- set date_string = strftime_now("%d %b %Y") %}
{%- endif %}
{%- if messages and messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content'] | trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}
{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
{%- if tools is not none %}
    {{- "Environment: ipython\\n" }}
{%- endif %}
{{- "Today Date: " + date_string + "\\n\\n" }}
{%- if tools is not none %}
    {{- "Call a function by answering with JSON.\\n\\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\\n\\n" }}
    {%- endfor %}
{%- endif %}
{{- system_message + "<|eot_id|>" }}
{%- for message in messages %}
    {%- if not (message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- if not message.tool_calls | length == 1 %}
            {{- raise_exception("One tool call at a time.") }}
        {%- endif %}
        {%- set call = message.tool_calls[0].function %}
        {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}
        {{- '{"name": "' + call.name + '", "parameters": ' + call.arguments | tojson + '}<|eot_id|>' }}
    {%- else %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\\n\\n" }}
        {%- if message.content is mapping %}{{ message.content | tojson }}{% else %}{{ message.content }}{% endif %}
        {{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
{%- endif %}
"""

# ChatML (Qwen2's): a default system message, tools listed in it, consecutive tool results in one user turn
CHATML = """{%- if tools %}
    {{- '<|im_start|>system\\n' + (messages[0]['content'] if messages[0]['role'] == 'system' else 'You are a helpful assistant.') }}
    {{- "\\n\\n# Tools\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" + tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools><|im_end|>\\n" }}
{%- elif messages[0]['role'] == 'system' %}
    {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
{%- else %}
    {{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}
{%- endif %}
{%- for message in messages %}
    {%- if message.role == "user" or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>assistant' }}
        {%- if message.content %}{{- '\\n' + message.content }}{%- endif %}
        {%- for call in message.tool_calls %}
            {%- if call.function is defined %}{%- set call = call.function %}{%- endif %}
            {{- '\\n<tool_call>\\n{"name": "' + call.name + '", "arguments": ' + call.arguments | tojson + '}\\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if loop.index0 == 0 or messages[loop.index0 - 1].role != "tool" %}{{- '<|im_start|>user' }}{%- endif %}
        {{- '\\n<tool_response>\\n' + message.content + '\\n</tool_response>' }}
        {%- if loop.last or messages[loop.index0 + 1].role != "tool" %}{{- '<|im_end|>\\n' }}{%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""

# Mistral's and LLaMA 2's: [INST] turns, the system message folded into the first user turn, roles checked to alternate
INST = """{%- if messages[0]['role'] == 'system' %}
    {%- set system = messages[0]['content'] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set loop_messages = messages %}
{%- endif %}
{{- bos_token }}
{%- for message in loop_messages %}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
        {{- raise_exception('After the optional system message, conversation roles must alternate user/assistant/user/assistant...') }}
    {%- endif %}
    {%- if message['role'] == 'user' %}
        {%- if loop.first and system is defined %}
            {{- ' [INST] <<SYS>>\\n' + system + '\\n<</SYS>>\\n\\n' + message['content'] | trim + ' [/INST]' }}
        {%- else %}
            {{- ' [INST] ' + message['content'] | trim + ' [/INST]' }}
        {%- endif %}
    {%- elif message['role'] == 'assistant' %}
        {{- ' ' + message['content'] | trim + eos_token }}
    {%- else %}
        {{- raise_exception('Only user and assistant roles are supported, with the exception of an initial optional system message!') }}
    {%- endif %}
{%- endfor %}
"""

# Gemma's: "model" for the assistant, no system role (folded into the first turn), a namespace carrying state out of the loop
TURNS = """{{ bos_token }}
{%- set ns = namespace(system='', turns=0) -%}
{% for message in messages %}
{% if message['role'] == 'system' %}
{% set ns.system = message['content'] | trim + '\\n\\n' %}
{% continue %}
{% endif %}
{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}
<start_of_turn>{{ role }}
{{ (ns.system if ns.turns == 0 else '') + message['content'] | trim }}<end_of_turn>
{% set ns.turns = ns.turns + 1 %}
{% endfor %}
{% if add_generation_prompt %}
<start_of_turn>model
{% endif %}
"""

# the parts none of the above uses: whitespace control of every kind, comments, raw text, set blocks, macros, loops' filters,
# else, break and loop variables, Python's printing, arithmetic and comparisons, and the filters, tests and methods read
FEATURES = r"""{# a comment #}
A {{- ' stripped ' -}} B
  {% if true %}
  indented line kept, tag's spaces dropped
  {% endif %}
  {%+ if true %}plus keeps spaces{% endif %}
{% raw %}{{ not rendered }} {% if %}{% endraw %}
{% set block %}inside {{ 1 + 1 }}{% endset %}[{{ block }}]
{% macro tag(name, close=false, sep='') %}<{{ '/' if close }}{{ name }}>{{ sep }}{% endmacro %}
{{ tag('a') }}{{ tag('a', close=true, sep='|') }}{{ tag('b', true) }}
{% for m in messages if m.role != 'system' %}{{ loop.index }}/{{ loop.length }}:{{ m.role[:1] }}{{ ',' if not loop.last }}{% else %}no messages{% endfor %}
{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i > 5 %}{% break %}{% endif %}{{ i }}{{ loop.cycle('a', 'b') }}{% endfor %}
{% for x in [3, 1, 2] %}{{ loop.revindex }}{{ loop.previtem | default('-') }}{{ loop.nextitem | default('-') }} {% endfor %}
{% for k, v in {'b': 1, 'a': [1, 'two', none, true, 2.5]}.items() %}{{ k }}={{ v }};{% endfor %}
{{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 1e3 }} {{ 0.1 + 0.2 }} {{ 1 / 3 }} {{ 1.5e-7 }} {{ 2.0 ** 70 }} {{ -0.0 }} {{ 10 - 2.5 }} {{ 3 * 'ab' }}
{{ (1, 'a') }} {{ (1,) }} {{ {'k': "it's", 'q': 'say "hi"'} }} {{ none }} {{ true }} {{ [] }} {{ 'x' ~ 1 ~ none ~ 2.0 }}
{{ 1 < 2 < 3 }} {{ 3 > 2 > 5 }} {{ 'b' > 'a' }} {{ [1, 2] == [1, 2] }} {{ 1 == 1.0 }} {{ 'ell' in 'hello' }} {{ 'x' not in ['a'] }} {{ 'k' in {'k': 1} }}
{{ 0 or 'fallback' }} {{ 'first' and 'second' }} {{ none or [] }} {{ not none }} {{ 'yes' if messages else 'no' }} [{{ 'only if' if false }}]
{{ '  padded  ' | trim }}|{{ 'xxhixx' | trim('x') }}|{{ messages | length }}|{{ 'héllo' | length }}|{{ 'Mixed Case' | upper }}{{ 'Mixed Case' | lower }}|{{ 'hello world-wide (web)' | title }}|{{ 'hELLO' | capitalize }}
{{ [3, 1, 2] | sort | join(', ') }}|{{ [3, 1, 2] | sort(reverse=true) | list }}|{{ messages | map(attribute='role') | join(' ') }}|{{ messages | selectattr('role', 'equalto', 'user') | list | length }}|{{ messages | rejectattr('role', 'eq', 'user') | map(attribute='role') | unique | list }}
{{ [1, 2, 3] | sum }} {{ [4, 2, 9] | min }} {{ [4, 2, 9] | max }} {{ [1, 2, 3] | first }} {{ [1, 2, 3] | last }} {{ 'abc' | reverse }} {{ [1, 2] | reverse | list }} {{ -3 | abs }} {{ '42' | int + 1 }} {{ '2.5' | float }} {{ 2.567 | round(2) }} {{ 'one two  three' | wordcount }}
{{ undefined_name | default('dflt') }}|{{ '' | default('empty', true) }}|{{ '' | default('kept') }}|{{ 'a\nb' | indent(2) }}|{{ 5 | string + '!' }}|{{ '<&>' | e }}
{{ {'b': 2, 'a': [1, {'c': none}], 'é': true} | tojson }}|{{ {'b': 2, 'a': 1} | tojson(sort_keys=true) }}|{{ [1, 'x'] | tojson(separators=(',', ':')) }}|{{ 'ü' | tojson(ensure_ascii=true) }}
{{ {'z': [1, 2], 'y': {}} | tojson(indent=2) }}
{{ 42 is number }} {{ 4.5 is float }} {{ 4 is integer }} {{ 'a' is string }} {{ {} is mapping }} {{ [] is sequence }} {{ 'a' is iterable }} {{ none is none }} {{ x is defined }} {{ x is undefined }} {{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 2 is in [1, 2] }} {{ true is sameas true }} {{ 'abc' is lower }} {{ range is callable }}
{{ ' a b  c '.split() }} {{ 'a,b,,c'.split(',') }} {{ 'a,b,c'.split(',', 1) }} {{ '  x  '.strip() }}|{{ 'x-y'.replace('-', '+') }} {{ 'hello'.startswith('he') }} {{ 'hello'.endswith(('x', 'lo')) }} {{ 'hello'.find('l') }} {{ 'hello'.count('l') }} {{ 'a b'.title() }} {{ 'l1\nl2'.splitlines() }} {{ '-'.join(['a', 'b']) }} {{ 'ab'.upper() }}
{{ 'hello'[1:4] }} {{ 'hello'[::-1] }} {{ [1, 2, 3, 4, 5][::2] }} {{ [1, 2, 3][-2:] }} {{ [1, 2, 3][-1] }} {{ messages[0].role }} {{ messages[0]['content'][:5] }} [{{ messages[99] }}] [{{ messages[0].missing }}]
{% set ns = namespace(count=0, names=[]) %}{% for m in messages %}{% set ns.count = ns.count + 1 %}{% set ns.names = ns.names + [m.role] %}{% endfor %}{{ ns.count }} {{ ns.names }}
{% set a, b = [1, 2] %}{{ a }}{{ b }} {% set d = dict(x=1, y='z') %}{{ d.x }}{{ d['y'] }}{{ d.get('w', 'none') }}{{ d | length }}
{%- for m in messages -%}
    {{ m.role }}
{%- endfor -%}
END
"""

# more of what templates use: attribute paths and falsy sequences in filters, case-blind sorting, Python's formatting,
# tuples, filtered set blocks, scopes of set blocks and macros, Python's rounding, string methods, printing and ordering
FEATURES2 = r"""{% set tools = [{'function': {'name': 'b', 'tags': ['x']}}, {'function': {'name': 'A', 'tags': []}}] %}
{{ tools | map(attribute='function.name') | list }} {{ tools | selectattr('function.tags') | map(attribute='function.name') | join }} {{ tools | map(attribute='function.tags.0', default='-') | list }}
{{ none | map(attribute='x') | list }} {{ none | selectattr('x') | list }} {{ '' | reject | list }}
{{ ['b', 'a', 'B', 'A'] | sort }} {{ ['b', 'a', 'B', 'A'] | sort(case_sensitive=true) }} {{ ['b', 'a', 'B', 'A'] | unique | list }} {{ ['b', 'C', 'a'] | max }} {{ tools | sort(attribute='function.name') | map(attribute='function.name') | list }}
{{ {'b': 1, 'A': 2, 'c': 0} | dictsort }} {{ {'b': 1, 'A': 2, 'c': 0} | dictsort(by='value', reverse=true) }}
{{ '%s has %d items (%.2f%%) %r %5s|%-4d|%03d %x' % ('list', 3, 12.345, 'q', 'ab', 7, 5, 255) }} {{ '%(a)s-%(b)s' % {'a': 1, 'b': 'two'} }} {{ '%s' | format('f') }} {{ '{} and {} and {name}'.format('x', 'y', name='n') }} {{ '{1}{0}'.format('a', 'b') }}
{% set xs = [10, [20, 21]] %}{{ xs.0 }} {{ xs.1.1 }} {% set a, b = 1, 2 %}{{ a }}{{ b }} {% set t = 1, 'x' %}{{ t }} {% for (k, v) in [('p', 1), ('q', 2)] %}{{ k }}{{ v }}{% endfor %}
{% set shout | upper %}quiet {{ 'words' }}{% endset %}{{ shout }} {% set n = 'outer' %}{% set block %}{% set n = 'inner' %}{{ n }}{% endset %}{{ block }}/{{ n }}
{% for i in [1, 2] %}{% macro show(sep='.') %}{{ i }}{{ sep }}{{ varargs | length }}{{ kwargs | dictsort }}{% endmacro %}{{ show() }}{{ show(':', 3, 4, extra=5) }}{% endfor %}
{{ 2.5 | round }} {{ 3.5 | round }} {{ 2.675 | round(2) }} {{ 7 | round(1) }} {{ 1250 | round(-2) }} {{ -0.5 | round }} {{ 1.23456 | round(3, 'floor') }} {{ 1.2 | round(0, 'ceil') }}
{% raw %}  {{ kept }}
  {% endraw %}
{{ 'one two' | replace('o', '0', 1) }} {{ 'a\rb\r\nc\x85d\u2028e'.splitlines() }} {{ 'a,b,c'.rsplit(',', 1) }} {{ 'k=v=w'.partition('=') }} {{ 'k=v=w'.rpartition('=') }} {{ ' a b  '.split(none, 1) }}
{{ 'abc'.replace('', '-') }} {{ 'ab'.center(5, '*') }} {{ '7'.zfill(3) }} {{ 'pre-x'.removeprefix('pre-') }} {{ 'aBc'.swapcase() }} {{ 'x1'.isalnum() }} {{ 'ab'.index('b') }}
{{ ['a\u200bb\xa0c', '\x00\x7f\x85'] }} {{ '\uff5c' < '\U0001F642' }} {{ ['\U0001F642', '\uff5c'] | sort }} {{ 'it\u2019s a_b c-d' | wordcount }} {{ '\101\102\012' }}
{{ '123' is lower }} {{ 'abc' is lower }} {{ [undefined_thing] }} {% set ns = namespace(a=1) %}{{ ns }}
"""

# each must fail, as jinja2 fails: an attribute of an undefined name, a str added to an int, a template's refusal, a
# list changed in the sandbox, a syntax error
ERRORS = {
    "undefined-attribute": "{{ nothing.here }}",
    "str-plus-int": "{{ 'a' + 1 }}",
    "refusal": "{{ raise_exception('refused: ' ~ messages | length) }}",
    "sandbox": "{% set l = [] %}{{ l.append(1) }}",
    "unclosed-if": "{% if true %}never closed",
    "unknown-statement": "{% include 'other.jinja' %}",
    "endless-recursion": "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
}

SYSTEM = {"role": "system", "content": "  Be brief.  "}
CONVERSATIONS = {
    "chat": [SYSTEM, {"role": "user", "content": "Hello"}, {"role": "assistant", "content": " Hi! How can I help? "}, {"role": "user", "content": "What's 2+2?\n"}],
    "single": [{"role": "user", "content": "Only one question, with “quotes” and émoji 🙂"}],
    "unalternating": [{"role": "user", "content": "one"}, {"role": "user", "content": "two"}],
    "tools": [SYSTEM, {"role": "user", "content": "Weather in Paris?"},
              {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"place": "Paris", "days": 2, "metric": True}}}]},
              {"role": "tool", "content": "{\"temp\": 21.5}"}, {"role": "tool", "content": "sunny"}, {"role": "assistant", "content": "21.5 and sunny."}],
}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "The weather at a place",
                                           "parameters": {"type": "object", "properties": {"place": {"type": "string"}, "days": {"type": "integer"}}, "required": ["place"]}}}]
SPECIAL = {"bos_token": "<s>", "eos_token": "</s>"}


def case(name, template, messages, generate, tools=None, extra=None):
    variables = {"messages": messages, "add_generation_prompt": generate, "tools": tools, "documents": None, **SPECIAL, **(extra or {})}
    result = {"name": name, "template": template, "variables": variables}
    try:
        result["expected"] = compile_template(template).render(**variables)
    except Exception as e:
        result["error"] = f"{type(e).__name__}: {e}"
    return result


cases = []
for family, template in [("llama3", LLAMA3), ("chatml", CHATML), ("inst", INST), ("turns", TURNS)]:
    for conversation, messages in CONVERSATIONS.items():
        for generate in (False, True):
            cases.append(case(f"{family}/{conversation}/{'generate' if generate else 'whole'}", template, messages, generate,
                              extra={"date_string": "26 Jul 2024"} if family == "llama3" else None))
    if family in ("llama3", "chatml"):
        cases.append(case(f"{family}/tools", template, CONVERSATIONS["tools"], True, tools=TOOLS, extra={"date_string": "26 Jul 2024"}))
cases.append(case("features", FEATURES, CONVERSATIONS["chat"], True))
cases.append(case("features2", FEATURES2, CONVERSATIONS["chat"], True))
for name, template in ERRORS.items():
    cases.append(case(f"error/{name}", template, CONVERSATIONS["chat"], False))
with open("cases.json", "w", encoding="utf-8") as f:
    json.dump(cases, f, ensure_ascii=False, indent=1)
print(f"wrote {len(cases)} cases, {sum('error' in c for c in cases)} of them errors")

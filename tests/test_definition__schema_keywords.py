"""A definition's JSON Schemas (start form, step forms, action forms) use only keywords of
JSON Schema 2020-12, and their ``$ref`` resolve inside them; what does not is reported with
file and line in a new file, and left alone in a stored version (``stored=True``)."""

from __future__ import annotations

import pytest

from tests.definition_text import edit, line_of, problems_in

BASE = """\
name: keyword_check
title: {en: Keyword check, zh: 关键字检查}
initial: draft
start_schema:
  $schema: "https://json-schema.org/draft/2020-12/schema"
  type: object
  additionalProperties: false
  required: [title]
  properties:
    title: {type: string, minLength: 2, description: "short, and to the point"}
    minLenght: {type: string}
    parts:
      type: array
      items: {type: object, properties: {name: {type: string}}}
    choice: {anyOf: [{type: string}, {type: integer}]}
    note: {type: string, default: {minLenght: 1}, enum: [{minLenght: 1}, plain]}
    part:
      $id: "https://innoflow.invalid/part"
      $defs: {code: {type: string}}
      type: object
      properties: {code: {$ref: "#/$defs/code"}}
  $defs:
    code: {type: string, pattern: "^[A-Z]+$"}
  examples: [{title: Fine, minLenght: a field may be called anything}]
states:
  draft:
    step: {assignees: owner}
  under_review:
    step:
      assignees: [{role: sta_admin}]
      form:
        type: object
        properties:
          opinion: {type: string, maxLength: 500}
  approved: {final: true}
transitions:
  - {action: submit, source: draft, dest: under_review, outcome: submit, by: owner}
  - action: approve
    source: under_review
    dest: approved
    outcome: approve
    schema:
      type: object
      required: [code]
      properties:
        code: {$ref: "#/$defs/code"}
      $defs:
        code: {type: string, minLength: 1}
      examples: [{code: A1}]
"""
"""Every keyword known, names and data that look like keywords where they are not keywords
(a field called ``minLenght``, a ``default`` and an ``enum`` value), and ``$ref`` resolving
at the top and inside a subschema with its own ``$id``."""


def test_schema_keywords__the_base_definition_is_clean():
    assert problems_in(BASE, "keywords.yaml") == []


EDITS = [
    pytest.param("title: {type: string, minLength: 2,", "title: {type: string, minLenght: 2,",
                 "minLenght: 2", "start_schema: unknown JSON Schema keyword 'minLenght' at "
                 "/properties/title (did you mean 'minLength'?)", id="start-form-misspelt"),
    pytest.param("description: \"short, and to the point\"}",
                 "description: short, and to the point}", "description: short, and",
                 "start_schema: unknown JSON Schema keyword 'and to the point' at "
                 "/properties/title (a key without a value: text after an unquoted comma",
                 id="start-form-unquoted-comma"),
    pytest.param("opinion: {type: string, maxLength: 500}",
                 "opinion: {type: string, maxLenght: 500}", "maxLenght: 500",
                 "state 'under_review' step form: unknown JSON Schema keyword 'maxLenght' at "
                 "/properties/opinion (did you mean 'maxLength'?)", id="step-form"),
    pytest.param("code: {type: string, minLength: 1}",
                 "code: {type: string, minLength: 1, uniqueItem: true}", "uniqueItem: true",
                 "transition 'approve' schema: unknown JSON Schema keyword 'uniqueItem' at "
                 "/$defs/code (did you mean 'uniqueItems'?)", id="action-form-in-defs"),
    pytest.param("items: {type: object, properties: {name: {type: string}}}",
                 "items: {type: object, requried: [name], properties: {name: {type: string}}}",
                 "requried: [name]", "start_schema: unknown JSON Schema keyword 'requried' at "
                 "/properties/parts/items (did you mean 'required'?)", id="in-items"),
    pytest.param("choice: {anyOf: [{type: string}, {type: integer}]}",
                 "choice: {anyOf: [{type: string}, {type: integer, minimun: 1}]}",
                 "minimun: 1", "start_schema: unknown JSON Schema keyword 'minimun' at "
                 "/properties/choice/anyOf/1 (did you mean 'minimum'?)", id="in-anyOf"),
    pytest.param("  $defs:\n    code: {type: string, pattern:",
                 "  definitions:\n    code: {type: string, pattern:", "  definitions:",
                 "start_schema: unknown JSON Schema keyword 'definitions' at (top) (a keyword of "
                 "an older dialect; 2020-12 uses $defs)", id="older-dialect-keyword"),
    pytest.param('$schema: "https://json-schema.org/draft/2020-12/schema"',
                 '$schema: "http://json-schema.org/draft-07/schema#"', "$schema:",
                 "start_schema: $schema 'http://json-schema.org/draft-07/schema#' at (top): the "
                 "engine validates every schema as JSON Schema 2020-12", id="another-dialect"),
    pytest.param('code: {$ref: "#/$defs/code"}\n      $defs:',
                 'code: {$ref: "#/$defs/cod"}\n      $defs:', "#/$defs/cod\"",
                 "transition 'approve' schema: $ref '#/$defs/cod' at /properties/code does not "
                 "resolve inside the schema", id="dangling-ref"),
    pytest.param('code: {$ref: "#/$defs/code"}\n      $defs:',
                 'code: {$ref: "https://innoflow.invalid/codes.json"}\n      $defs:',
                 "codes.json", "transition 'approve' schema: $ref "
                 "'https://innoflow.invalid/codes.json' at /properties/code does not resolve "
                 "inside the schema", id="remote-ref"),
    pytest.param("    minLenght: {type: string}", '    minLenght: {$dynamicRef: "#nope"}',
                 "$dynamicRef", "start_schema: $dynamicRef '#nope' at /properties/minLenght does "
                 "not resolve inside the schema", id="dangling-dynamic-ref"),
    pytest.param('      $id: "https://innoflow.invalid/part"', '      $id: "http://[bad"',
                 "http://[bad", "start_schema: $id 'http://[bad' at /properties/part is not a "
                 "URI", id="id-not-a-uri"),
]


@pytest.mark.parametrize(("old", "new", "fragment", "reason"), EDITS)
def test_schema_keywords__reported_in_a_new_file_with_its_line(old, new, fragment, reason):
    text = edit(BASE, old, new)
    problems = problems_in(text, "keywords.yaml")
    assert [(p.file, p.line) for p in problems] == [("keywords.yaml", line_of(text, fragment))]
    assert problems[0].reason.startswith(reason), problems[0].reason


@pytest.mark.parametrize(("old", "new", "fragment", "reason"), EDITS)
def test_schema_keywords__left_alone_in_a_stored_version(old, new, fragment, reason):
    assert problems_in(edit(BASE, old, new), "keywords.yaml", stored=True) == []


def test_schema_keywords__every_problem_of_a_file_at_once():
    text = BASE
    for case in EDITS[:7]:
        old, new, _fragment, _reason = case.values
        text = edit(text, old, new)
    problems = problems_in(text, "keywords.yaml")
    assert sorted(p.line for p in problems) == sorted(
        line_of(text, case.values[2]) for case in EDITS[:7])

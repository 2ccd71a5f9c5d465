"""Patterns as Kombo's document means them: ECMA-262 regular expressions, run by Python's `re`.

OpenAPI 3.1 (JSON Schema 2020-12) writes `pattern` in ECMA-262 syntax, and jsonschema hands
it to `re.search` as it stands. Three differences would change verdicts on the document's
patterns: Python's `\\w` and `\\d` match any Unicode letter or digit (ECMA's: ASCII only),
its `$` also matches before a final newline ("application/pdf\\n" would pass
`^[\\w.-]+\\/[\\w.-]+$`), and its `.` matches "\\r". The translation below closes those;
named groups are renamed to Python's spelling. Anything else is passed on unchanged.
"""

from __future__ import annotations

import functools
import re

# What ECMA-262's \s matches (WhiteSpace and LineTerminator), for use inside a class.
_ECMA_SPACE = (
    "\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
)
# What ECMA-262's "." does not match without the s flag.
_ECMA_LINE_ENDS = "\\n\\r\\u2028\\u2029"


@functools.cache
def ecma_regex(pattern: str) -> re.Pattern[str]:
    """`pattern` (ECMA-262, no flags) compiled to behave the same under `re.search`."""
    return re.compile(_translate(pattern), re.ASCII)


def _translate(pattern: str) -> str:
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            escaped = pattern[i + 1]
            if escaped == "s":
                out.append(_ECMA_SPACE if in_class else f"[{_ECMA_SPACE}]")
            elif escaped == "S" and not in_class:
                out.append(f"[^{_ECMA_SPACE}]")
            elif escaped == "S":
                raise ValueError(f"\\S inside a character class is not supported: {pattern!r}")
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
            out.append(char)
        elif char == "[":
            in_class = True
            out.append(char)
            # A "]" right after "[" or "[^" is a literal in Python but closes the class in
            # ECMA; neither appears in Kombo's document, so say so rather than guess.
            if pattern[i + 1 : i + 2] == "]" or pattern[i + 1 : i + 3] == "^]":
                raise ValueError(f"an empty character class is not supported: {pattern!r}")
        elif char == "$":
            # ECMA's $ (without the m flag) is the end of the input, nothing else.
            out.append("\\Z")
        elif char == ".":
            out.append(f"[^{_ECMA_LINE_ENDS}]")
        elif pattern.startswith("(?<", i) and pattern[i + 3 : i + 4] not in ("=", "!"):
            out.append("(?P<")
            i += 3
            continue
        else:
            out.append(char)
        i += 1
    return "".join(out)

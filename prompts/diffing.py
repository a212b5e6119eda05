"""Side-by-side diffs of two prompt versions: lines first, then words.

Pure functions over strings, message lists and config dicts; no request or
database. Lines are matched with ``difflib.SequenceMatcher``; inside a block
of replaced lines, lines are paired by position and diffed again word by
word. Highlighted HTML is built with ``escape`` / ``format_html`` only, so
prompt text holding HTML or scripts renders inert.
"""

import difflib
import json
import re
from dataclasses import dataclass

from django.utils.html import escape, format_html, format_html_join

# Words are runs of non-space, as in ``git diff --word-diff``: splitting on
# punctuation too makes markup such as "<b>" match piecewise and scatter the
# highlights. A ``{{variable}}`` is always a word of its own.
TOKEN_PATTERN = re.compile(r"\{\{.*?\}\}|\s+|(?:(?!\{\{)\S)+")

EQUAL = "equal"
REPLACE = "replace"
DELETE = "delete"
INSERT = "insert"

PLACEHOLDER_ROLE = "placeholder"


@dataclass(frozen=True)
class Piece:
    """A run of text on one side; ``changed`` runs are highlighted."""

    text: str
    changed: bool = False


@dataclass
class Line:
    number: int
    pieces: list[Piece]

    @property
    def text(self):
        return "".join(piece.text for piece in self.pieces)


@dataclass
class Row:
    """One row of the side-by-side table; a missing side is None."""

    kind: str
    left: Line | None
    right: Line | None

    @property
    def left_html(self):
        return line_html(self.left, "del")

    @property
    def right_html(self):
        return line_html(self.right, "ins")


@dataclass
class MessageDiff:
    """One chat message position: the message on each side and its rows.

    ``status`` is ``added`` or ``removed`` when only one side has a message
    at this position, else ``changed`` or ``same``.
    """

    index: int
    old_role: str | None
    new_role: str | None
    rows: list[Row]

    @property
    def position(self):
        return self.index + 1

    @property
    def status(self):
        if self.old_role is None:
            return "added"
        if self.new_role is None:
            return "removed"
        return "changed" if self.changed else "same"

    @property
    def role_changed(self):
        return (
            self.old_role is not None
            and self.new_role is not None
            and self.old_role != self.new_role
        )

    @property
    def changed(self):
        return self.role_changed or rows_changed(self.rows)


@dataclass
class VersionDiff:
    """Text rows (text prompts) or message diffs (chat), plus config rows."""

    text_rows: list[Row] | None
    messages: list[MessageDiff] | None
    config_rows: list[Row]

    @property
    def content_changed(self):
        if self.text_rows is not None:
            return rows_changed(self.text_rows)
        return any(message.changed for message in self.messages)

    @property
    def config_changed(self):
        return rows_changed(self.config_rows)


def rows_changed(rows):
    return any(row.kind != EQUAL for row in rows)


def tokens(line):
    return TOKEN_PATTERN.findall(line)


def _merged(pieces):
    """Join neighbouring pieces with the same ``changed`` flag."""
    merged = []
    for piece in pieces:
        if not piece.text:
            continue
        if merged and merged[-1].changed == piece.changed:
            merged[-1] = Piece(merged[-1].text + piece.text, piece.changed)
        else:
            merged.append(piece)
    return merged


def word_diff(old, new):
    """``(old pieces, new pieces)`` with the changed words of each side marked.

    Whitespace is junk to the matcher: it never anchors a match on its own,
    so two unrelated phrases read as one change rather than word confetti.
    """
    old_tokens, new_tokens = tokens(old), tokens(new)
    matcher = difflib.SequenceMatcher(
        lambda token: token.isspace(), old_tokens, new_tokens, autojunk=False
    )
    left, right = [], []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        old_text, new_text = "".join(old_tokens[i1:i2]), "".join(new_tokens[j1:j2])
        changed = tag != EQUAL
        left.append(Piece(old_text, changed))
        right.append(Piece(new_text, changed))
    return _merged(left), _merged(right)


def _whole(number, text):
    return Line(number, [Piece(text, True)] if text else [])


def line_rows(old_text, new_text):
    """The side-by-side rows of two texts.

    Equal lines pair up; within a replaced block the n-th old line pairs
    with the n-th new line and gets word highlights; the rest of a block is
    shown as whole deleted or inserted lines.
    """
    old_lines, new_lines = old_text.splitlines(), new_text.splitlines()
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    rows = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == EQUAL:
            for offset in range(i2 - i1):
                text = old_lines[i1 + offset]
                rows.append(
                    Row(
                        EQUAL,
                        Line(i1 + offset + 1, [Piece(text)] if text else []),
                        Line(j1 + offset + 1, [Piece(text)] if text else []),
                    )
                )
            continue
        paired = min(i2 - i1, j2 - j1) if tag == REPLACE else 0
        for offset in range(paired):
            left, right = word_diff(old_lines[i1 + offset], new_lines[j1 + offset])
            rows.append(
                Row(
                    REPLACE,
                    Line(i1 + offset + 1, left),
                    Line(j1 + offset + 1, right),
                )
            )
        for index in range(i1 + paired, i2):
            rows.append(Row(DELETE, _whole(index + 1, old_lines[index]), None))
        for index in range(j1 + paired, j2):
            rows.append(Row(INSERT, None, _whole(index + 1, new_lines[index])))
    return rows


def line_html(line, tag):
    """One side of a row as HTML: text escaped, changed runs in ``<tag>``."""
    if line is None:
        return ""
    return format_html_join(
        "",
        "{}",
        (
            (format_html("<{}>{}</{}>", tag, piece.text, tag),)
            if piece.changed
            else (escape(piece.text),)
            for piece in line.pieces
        ),
    )


def message_parts(message):
    """``(role, text)`` of one stored chat item, for display and diffing."""
    if not isinstance(message, dict):
        return "", pretty_json(message)
    if message.get("type") == PLACEHOLDER_ROLE:
        return PLACEHOLDER_ROLE, f"{{{{{message.get('name', '')}}}}} (message list)"
    content = message.get("content", "")
    text = content if isinstance(content, str) else pretty_json(content)
    return str(message.get("role", "")), text


def message_diffs(old_messages, new_messages):
    """One MessageDiff per position; messages pair up by position."""
    diffs = []
    for index in range(max(len(old_messages), len(new_messages))):
        old_role = new_role = None
        old_text = new_text = ""
        if index < len(old_messages):
            old_role, old_text = message_parts(old_messages[index])
        if index < len(new_messages):
            new_role, new_text = message_parts(new_messages[index])
        diffs.append(
            MessageDiff(index, old_role, new_role, line_rows(old_text, new_text))
        )
    return diffs


def pretty_json(value):
    """Stable, indented JSON: sorted keys, so key order never shows as a change."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def as_messages(content):
    if isinstance(content, list):
        return content
    return [{"role": "text", "content": content or ""}]


def version_diff(old_content, new_content, old_config, new_config):
    """The diff between two versions' contents and configs.

    Text when both sides are text; otherwise both sides are read as chat
    (a lone text becomes one message), so mixed input still renders.
    """
    if isinstance(old_content, str) and isinstance(new_content, str):
        text_rows, messages = line_rows(old_content, new_content), None
    else:
        text_rows = None
        messages = message_diffs(as_messages(old_content), as_messages(new_content))
    config_rows = line_rows(
        pretty_json(old_config or {}), pretty_json(new_config or {})
    )
    return VersionDiff(text_rows, messages, config_rows)

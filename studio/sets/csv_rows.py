"""The prompts of a set from a CSV file: a header row naming the columns (`prompt`, plus optional
`title` and columns named after parameters), then one row per prompt. Bad files get a message
naming the row (as a spreadsheet numbers it: the header is row 1) and the column."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

MAX_CSV_BYTES = 1024 * 1024
PROMPT, TITLE = "prompt", "title"


class BadCsv(ValueError):
    """A file the studio cannot read as a set's prompts; the message says where and why."""


@dataclass(frozen=True)
class Row:
    """One prompt of a set: where it came from (for messages), its title and its other values."""

    where: str  # "Row 3" (a CSV row) or "Prompt 2" (a line of the prompts box)
    prompt: str
    title: str = ""
    values: dict[str, str] = field(default_factory=dict)  # column → value, non-empty only


def read_rows(data: bytes) -> tuple[list[str], list[Row]]:
    """The header's columns (besides prompt and title) and the rows with a prompt."""
    if len(data) > MAX_CSV_BYTES:
        raise BadCsv(f"The CSV file is larger than {MAX_CSV_BYTES // 1024} KB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadCsv("The CSV file is not UTF-8 text: save it as “CSV UTF-8” and upload it again.") from None
    try:
        lines = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise BadCsv(f"The CSV file cannot be read: {exc}.") from None
    if not lines:
        raise BadCsv("The CSV file is empty: it needs a header row with a “prompt” column.")
    header = [name.strip() for name in lines[0]]
    if PROMPT not in header:
        raise BadCsv("The CSV file's first row must name its columns, one of them “prompt”.")
    for position, name in enumerate(header, start=1):
        if not name:
            raise BadCsv(f"Row 1, column {position}: the header names no column.")
        if header.count(name) > 1:
            raise BadCsv(f"Row 1: the column “{name}” appears twice.")
    rows = []
    for number, cells in enumerate(lines[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue  # blank lines between rows are common in hand-edited files
        if len(cells) > len(header):
            raise BadCsv(f"Row {number}: {len(cells)} values for {len(header)} columns.")
        values = {name: cell.strip() for name, cell in zip(header, cells) if cell.strip()}
        prompt = values.pop(PROMPT, "")
        if not prompt:
            raise BadCsv(f"Row {number}, column prompt: the prompt is empty.")
        rows.append(Row(f"Row {number}", prompt, values.pop(TITLE, ""), values))
    return [name for name in header if name not in (PROMPT, TITLE)], rows


def rows_from_lines(text: str) -> list[Row]:
    """One prompt per non-empty line of the prompts box."""
    prompts = [line.strip() for line in text.splitlines() if line.strip()]
    return [Row(f"Prompt {n}", prompt) for n, prompt in enumerate(prompts, start=1)]

"""A set's prompts from a CSV file: a header naming the columns, one prompt per row, and every
mistake named by its row and column."""

import pytest

from studio.sets.csv_rows import MAX_CSV_BYTES, BadCsv, read_rows, rows_from_lines


def test_a_csv_gives_its_columns_and_one_row_per_prompt():
    columns, rows = read_rows(
        "prompt,title,music_length_ms,voice\nCalm piano,Rain,30000,\n\n\"Synthwave, driving\",,,Aria\n".encode()
    )
    assert columns == ["music_length_ms", "voice"]
    assert [(r.where, r.prompt, r.title, r.values) for r in rows] == [
        ("Row 2", "Calm piano", "Rain", {"music_length_ms": "30000"}),
        ("Row 4", "Synthwave, driving", "", {"voice": "Aria"}),
    ]


def test_a_spreadsheets_utf8_bom_is_fine():
    _, rows = read_rows("\ufeffprompt\nCafé au lait\n".encode())
    assert rows[0].prompt == "Café au lait"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"text,title\nhello,x\n", "“prompt”"),
        (b"prompt,prompt\na,b\n", "Row 1: the column “prompt” appears twice"),
        (b"prompt,,voice\na,,b\n", "Row 1, column 2"),
        (b"prompt,title\nfirst,one\n,two\n", "Row 3, column prompt: the prompt is empty"),
        (b"prompt\na,b\n", "Row 2: 2 values for 1 columns"),
        ("prompt\ncaf\u00e9\n".encode("latin-1"), "not UTF-8"),
        (b"prompt\n" + b"x" * MAX_CSV_BYTES, "larger than"),
    ],
)
def test_a_bad_file_is_refused_saying_where(data, message):
    with pytest.raises(BadCsv, match=message):
        read_rows(data)


def test_the_prompts_box_gives_one_prompt_per_line():
    rows = rows_from_lines("  Calm piano \n\nSynthwave\n")
    assert [(r.where, r.prompt) for r in rows] == [("Prompt 1", "Calm piano"), ("Prompt 2", "Synthwave")]

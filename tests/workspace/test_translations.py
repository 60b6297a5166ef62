"""Dutch is the default: every text of the pages has a Dutch translation, and the compiled
catalogue the app loads is the one made from the checked-in ``messages.po``."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

WORKSPACE = Path(__file__).resolve().parents[2] / "gateway" / "workspace"
CATALOGUE = WORKSPACE / "translations" / "nl" / "LC_MESSAGES"
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]


def _dutch() -> dict[str, str]:
    with (CATALOGUE / "messages.po").open("rb") as handle:
        return {m.id: m.string for m in read_po(handle) if m.id}


def test_every_text_on_the_pages_has_a_dutch_translation() -> None:
    used = {message[2] for message in extract_from_dir(str(WORKSPACE), METHODS)}
    dutch = _dutch()

    assert sorted(text for text in used if not dutch.get(text)) == []


def test_the_compiled_catalogue_is_made_from_the_po_file() -> None:
    with (CATALOGUE / "messages.po").open("rb") as handle:
        catalogue = read_po(handle)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)

    assert (CATALOGUE / "messages.mo").read_bytes() == compiled.getvalue()

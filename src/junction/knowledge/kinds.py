"""Which files an assistant's knowledge accepts, told by the file name's extension."""

from __future__ import annotations

from pathlib import PurePath

KINDS: dict[str, str] = {
    ".txt": "text",
    ".text": "text",
    ".log": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
    ".csv": "csv",
    ".json": "json",
}


def kind_of(filename: str) -> str | None:
    """The kind of a file by its name, or None when the router cannot read it."""
    return KINDS.get(PurePath(filename).suffix.lower())


def accepted() -> str:
    return ", ".join(sorted(KINDS))

"""A file's bytes as plain text, headings kept as Markdown ``#`` lines so that chunking can
split along them. Runs in a worker thread: parsing a large PDF is CPU work.

Libraries: ``pypdf`` (pure Python, no system packages) for PDF, ``python-docx`` for DOCX,
BeautifulSoup with the standard library's parser for HTML. Text, Markdown, CSV and JSON are
read as UTF-8 text. Failures raise ``Unreadable`` with a reason a person understands.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)

_BLOCKS = ("p", "div", "li", "tr", "br", "pre", "section", "article", "table", "blockquote")


class Unreadable(Exception):
    """The file cannot be read; the message is shown to the admin as the file's ``error``."""


@dataclass(frozen=True)
class Parsed:
    text: str
    pages: int  # PDF pages; other kinds count as one page per 3,000 characters


def parse(kind: str, data: bytes) -> Parsed:
    if kind == "pdf":
        return _pdf(data)
    if kind == "docx":
        text = _docx(data)
    elif kind == "html":
        text = _html(_decode(data))
    else:
        text = _decode(data)
    text = text.strip()
    if not text:
        raise Unreadable("the file has no text in it")
    return Parsed(text, max(1, len(text) // 3000))


def _decode(data: bytes) -> str:
    if b"\x00" in data[:4096]:
        raise Unreadable("the file looks binary, not text (it contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            raise Unreadable("the file is not UTF-8 text") from None


def _pdf(data: bytes) -> Parsed:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # it warns about every odd object
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                reader.decrypt("")
            except Exception:
                raise Unreadable("the PDF is encrypted with a password") from None
        pages = [page.extract_text() or "" for page in reader.pages]
    except Unreadable:
        raise
    except PdfReadError as exc:
        raise Unreadable(f"not a readable PDF: damaged, cut short or not a PDF ({exc})") from None
    except Exception as exc:  # pypdf raises many kinds on damaged files
        raise Unreadable(
            f"not a readable PDF: damaged, cut short or not a PDF ({type(exc).__name__}: {exc})"
        ) from None
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise Unreadable(
            f"the PDF has {len(pages)} page(s) but no text layer (scanned images need OCR first)"
        )
    return Parsed(text, len(pages))


def _docx(data: bytes) -> str:
    from docx import Document
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = Document(io.BytesIO(data))
    except PackageNotFoundError:
        raise Unreadable("not a readable DOCX file (not a Word document package)") from None
    except Exception as exc:
        raise Unreadable(f"not a readable DOCX file ({type(exc).__name__}: {exc})") from None
    lines: list[str] = []
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        if not text:
            continue
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        if style.startswith("Heading") and style[7:].strip().isdigit():
            text = "#" * min(6, int(style[7:].strip())) + " " + text
        elif style == "Title":
            text = "# " + text
        lines.append(text)
    for table in document.tables:
        for row in table.rows:
            cells = [cell.text.strip() for cell in row.cells]
            if any(cells):
                lines.append(" | ".join(cells))
    return "\n\n".join(lines)


def _html(markup: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "head"]):
        tag.decompose()
    for level in range(1, 7):
        for heading in soup.find_all(f"h{level}"):
            heading.insert_before("\n\n" + "#" * level + " ")
            heading.insert_after("\n\n")
    for block in soup.find_all(_BLOCKS):
        block.insert_after("\n\n")
    text = soup.get_text()
    lines = [" ".join(line.split()) for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out)

"""The general-English corpus: what ships, how it was cleaned, and the reader of R's data files."""

import gzip
import hashlib
import json
import lzma
import re
import struct
import zlib

from playground import corpora
from playground.tiny import data


def test_shipped_corpus_matches_its_manifest():
    manifest = json.loads(corpora.MANIFEST.read_text())
    raw = lzma.decompress(corpora.GENERAL.read_bytes())
    assert corpora.GENERAL.stat().st_size < 20 * 1024 * 1024  # the per-file limit
    assert hashlib.sha256(raw).hexdigest() == manifest["sha256"]
    assert len(raw) == manifest["bytes"]
    sources = manifest["sources"]
    assert set(sources) == {"austen", "moby-dick", "sotu"}
    assert all(s["licence"] and s["characters"] > 1_000_000 for s in sources.values())
    assert {p["registry"] for p in manifest["packages"]} == {"Debian", "npm"}


def test_general_english_is_clean_prose_from_all_three_sources():
    text = data.load_corpus("general-english")
    assert len(text) > 10_000_000
    assert "Emma Woodhouse, handsome, clever, and rich" in text  # Austen
    assert "Call me Ishmael." in text  # Melville
    assert "Madam Speaker" in text  # a modern State of the Union address
    assert not re.search(r"^(CHAPTER|Chapter|VOLUME) [\dIVXLC]+\.?$", text, re.M)  # headings are gone
    assert "_them_" not in text  # and emphasis marks
    assert "\u2019" not in text  # curly apostrophes made straight
    paragraphs = text.split("\n\n")
    assert all(p and "\n" not in p for p in paragraphs[:-1])  # one paragraph per line


def test_austen_chapters_drop_title_page_and_headings():
    lines = [
        "EMMA",
        "",
        "By Jane Austen",
        "",
        "VOLUME I",
        "",
        "CHAPTER I",
        "",
        "Emma was",
        "clever.",
        "",
        "She _was_ rich.",
        "",
        "CHAPTER II",
        "",
        "Mr. Weston came.",
    ]
    assert corpora.austen_chapters(lines) == ["Emma was clever.\n\nShe was rich.", "Mr. Weston came."]


def _charsxp(s: str) -> bytes:
    raw = s.encode()
    return struct.pack(">ii", 0x00040009, len(raw)) + raw


def test_r_reader_reads_a_named_character_vector(tmp_path):
    # what R writes for saveRDS(list(emma = c("EMMA", NA)), version = 2) in a lazy-load database:
    # a list (VECSXP 19) with attributes (flag bit 9) holding names = "emma"
    vector = struct.pack(">ii", 16, 2) + _charsxp("EMMA") + struct.pack(">ii", 9, -1)  # STRSXP, length 2, "EMMA", NA
    names_attr = (
        struct.pack(">i", 2 | 1 << 10)  # pairlist node with a tag
        + struct.pack(">i", 1)
        + _charsxp("names")  # tag: the symbol "names"
        + struct.pack(">ii", 16, 1)
        + _charsxp("emma")  # value: c("emma")
        + struct.pack(">i", 254)  # end of the pairlist
    )
    obj = struct.pack(">ii", 19 | 1 << 9, 1) + vector + names_attr
    blob = b"X\n" + struct.pack(">iii", 2, 0x040000, 0x020300) + obj
    # the index: list(variables = list(emma = c(offset, length))); the second "names" is a reference (REFSXP 255)
    entry = struct.pack(">i", len(blob)) + zlib.compress(blob)
    offsets = struct.pack(">ii", 13, 2) + struct.pack(">ii", 0, len(entry))
    index_names = (
        struct.pack(">i", 2 | 1 << 10)
        + struct.pack(">i", 1)
        + _charsxp("names")
        + struct.pack(">ii", 16, 1)
        + _charsxp("emma")
        + struct.pack(">i", 254)
    )
    variables = struct.pack(">ii", 19 | 1 << 9, 1) + offsets + index_names
    top_names = (
        struct.pack(">i", 2 | 1 << 10)
        + struct.pack(">i", 255 | 1 << 8)
        + struct.pack(">ii", 16, 1)
        + _charsxp("variables")
        + struct.pack(">i", 254)
    )
    index = (
        b"X\n" + struct.pack(">iii", 2, 0x040000, 0x020300) + struct.pack(">ii", 19 | 1 << 9, 1) + variables + top_names
    )
    (tmp_path / "Rdata.rdx").write_bytes(gzip.compress(index))
    (tmp_path / "Rdata.rdb").write_bytes(entry)
    assert corpora.read_rdata(tmp_path) == {"emma": {"emma": ["EMMA", None]}}


def test_assembly_is_deterministic_and_mixes_sources():
    docs = [corpora.Document(src, f"{src} {i}", f"{src} text {i}.") for src in ("austen", "sotu") for i in range(20)]
    text = corpora.assemble(docs)
    assert text == corpora.assemble(list(reversed(docs)))  # the order given does not matter
    tail = text.split("\n\n")[-10:]
    assert {p.split()[0] for p in tail} == {"austen", "sotu"}  # the validation tail is a mix


def test_document_index_cuts_the_shipped_text_back_into_its_documents():
    import json

    from playground import corpora

    docs = corpora.general_documents()
    manifest = json.loads(corpora.MANIFEST.read_text())
    for source, part in manifest["sources"].items():
        mine = [d for d in docs if d.source == source]
        assert len(mine) == part["documents"] and sum(len(d.text) for d in mine) == part["characters"]
    assert "\n\n".join(d.text for d in docs) + "\n" == corpora.general_english()

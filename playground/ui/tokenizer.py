"""Tokenizer tab: one text through several tokenizers side by side; train your own and replay its merges."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr
import plotly.graph_objects as go
from transformers import PreTrainedTokenizerBase

from .. import charts, registry, session
from .. import tokenization as tk
from .. import tokenizer_training as tt
from ..errors import UserError
from ..tiny import data
from .common import friendly, maths_panel, session_id, spans

# (CheckboxGroup value, panel title); the value is also the elem_id suffix
PANELS = [
    ("bert-base-uncased", "BERT · WordPiece (bert-base-uncased, 30,522 entries)"),
    ("gpt2", "GPT-2 · byte-level BPE (50,257 entries)"),
    ("tiny-shakespeare-gpt", "tiny-shakespeare-gpt · byte-level BPE (4,096)"),
    ("tiny-shakespeare-bert", "tiny-shakespeare-bert · WordPiece (4,096)"),
    ("yours-bpe", "Yours · BPE (trained in this tab)"),
    ("yours-wordpiece", "Yours · WordPiece (trained in this tab)"),
    ("hub", "A Hugging Face Hub tokenizer (added by id)"),
]
TITLES = dict(PANELS)
DEFAULT_SHOWN = ["bert-base-uncased", "gpt2"]
ALGORITHM_LABELS = {"BPE (byte-level, like GPT-2)": "bpe", "WordPiece (like BERT, scored merges)": "wordpiece"}
SOURCES = [
    "tinyshakespeare (bundled, 1.1 MB)",
    f"upload a .txt (up to {tt.MAX_TRAIN_BYTES // 1_000_000} MB)",
    "paste text",
]
DEFAULT_SAMPLE = "Wherefore art thou Romeo? Transformers learn relationships between words."
RECENT_MERGES = 10
NOT_TRAINED = "Not trained in this session yet: train one below (a link to this page does not carry it)."
LINKED_TRAINING = (
    "The tokenizer trained where this link was copied is not part of the link: train one here to replay its merges."
)

EXAMPLES = [
    ["Transformers learn relationships between words."],
    ["Hypatia of Alexandria taught mathematics."],
    ["I ❤️ tokenizers 🤖 and ᚠᚢᚦᚨᚱᚲ runes"],
    ["Unbelievably, the naïve Café owner tweeted."],
    ["def add(a, b):\n    return a + b  # spaces and newlines"],
    ["Odd: שלום עולם · e\u0301 (e + combining accent) · zero\u200bwidth · tab\there"],
]
LEGEND = (
    "**Reading the tokens** · `##` WordPiece: this piece continues the word before it (`h ##yp ##ati ##a`) · "
    "`Ġ` byte-level BPE (GPT-2): a space in front of the token · `Ċ` a newline · "
    "`▁` SentencePiece (T5, Llama; none here): a space · "
    "`<0xE2>` a byte that is only part of a character: byte-level BPE may split one character (an emoji, "
    "an accented letter) over several tokens, and we show those bytes rather than `�` · "
    "`<U+200B>` an invisible character · `[UNK]` (red) a word the vocabulary cannot spell."
)
PALETTE = {"0": "#c7d2fe", "1": "#fde68a", "2": "#bbf7d0", "3": "#fbcfe8", "unk": "#f87171", "new": "#fb923c"}
DIFF_COLORS = {"changed": "#fdba74", "dropped": "#fca5a5"}


# ---------------------------------------------------------------- side by side


def _own(request: gr.Request | None) -> session.Session | None:
    """The caller's Session, where its trained tokenizers live (None before it made any)."""
    return session.peek(session_id(request))


def _tokenizer(key: str, own: session.Session | None) -> PreTrainedTokenizerBase | None:
    if key in ("bert-base-uncased", "gpt2"):
        return registry.reference_tokenizer(key)
    if key in registry.BUNDLED:
        return registry.load(key, registry.BUNDLED[key].tasks[0]).tokenizer
    if key == "hub":
        return registry.hub_tokenizer(own.hub_tokenizer) if own and own.hub_tokenizer else None
    trained = own.trained.get(key.removeprefix("yours-")) if own else None
    return trained.tokenizer if trained else None


def _panel(key: str, text: str, own: session.Session | None) -> tuple[list, str, list, list]:
    """One tokenizer's (coloured tokens, stats line, id table, round-trip diff)."""
    tokenizer = _tokenizer(key, own)
    if tokenizer is None:
        return [], "Add one by its id above first." if key == "hub" else NOT_TRAINED, [], []
    t = tk.tokenize(tokenizer, text, key)
    rt = tk.round_trip(tokenizer, text, t.ids)
    spans = [
        (label, "unk" if t.unk_count and i == tokenizer.unk_token_id else str(n % 4))
        for n, (label, i) in enumerate(zip(t.labels, t.ids))
    ]
    table = [[n, label, i] for n, (label, i) in enumerate(zip(t.labels, t.ids))]
    return spans, _stats(t, rt), table, rt.spans


def _stats(t: tk.Tokenized, rt: tk.RoundTrip) -> str:
    if not t.n_chars:
        return "No text yet: type or paste some above."
    if t.n_tokens:
        per_word = f"{t.tokens_per_word:.2f} tokens per word" if t.n_words else "no words, only spaces"
        line = f"**{t.n_tokens:,}** tokens · {t.chars_per_token:.2f} characters per token · {per_word} · {t.unk_count} `[UNK]`"
    else:
        line = "**0** tokens: this tokenizer drops spaces and invisible characters"
    if rt.exact:
        trip = "round trip: **exact**"
    else:
        trip = "round trip: **changed**: " + (", ".join(rt.reasons) or "after the part compared")
    notes = []
    if t.truncated:
        notes.append(f"showing the first {len(t.labels):,} of {t.n_tokens:,} tokens")
    if rt.compared_chars < t.n_chars:
        notes.append(f"diff of the first {rt.compared_chars:,} characters")
    return f"{line}  \n{trip}" + (f" ({'; '.join(notes)})" if notes else "")


@friendly
def compare(text: str, shown: list[str] | None = None, request: gr.Request = None) -> list:
    """Outputs: (tokens, stats, table) per side in PANELS order, then the round-trip diff per side."""
    text = tk.check_text(text)
    shown = DEFAULT_SHOWN if shown is None else shown
    own = _own(request)
    panels = [_panel(key, text, own) if key in shown else ([], "", [], []) for key, _ in PANELS]
    return [x for p in panels for x in p[:3]] + [p[3] for p in panels]


def show_panels(shown: list[str]) -> list:
    return [gr.Column(visible=key in shown) for key, _ in PANELS]


def _choices(own: session.Session | None) -> list[tuple[str, str]]:
    """Every side, always: a link to the page may tick one this session has not trained (its panel says so)."""
    return [(_title(key, own), key) for key, _ in PANELS]


def _title(key: str, own: session.Session | None) -> str:
    return f"Hub · {own.hub_tokenizer}" if key == "hub" and own and own.hub_tokenizer else TITLES[key]


@friendly
def add_hub_tokenizer(model_id: str, shown: list[str], request: gr.Request = None) -> gr.CheckboxGroup:
    """Load a Hub tokenizer by id (when the Hub or the local cache has it) and show it side by side."""
    registry.hub_tokenizer(model_id)  # raises a sentence when the id is bad or the Hub unreachable
    own = session.get(session_id(request))
    own.hub_tokenizer = model_id.strip()
    shown = [*shown, "hub"] if "hub" not in shown else shown
    return gr.CheckboxGroup(choices=_choices(own), value=shown)


# ---------------------------------------------------------------- train and replay


def _training_text(source: str, upload: str | None, pasted: str) -> str:
    if source == SOURCES[1]:
        if not upload:
            raise UserError("Choose a .txt file to upload first.")
        return tk.read_text_file(upload)
    if source == SOURCES[2]:
        return pasted
    return data.load_corpus("tinyshakespeare")


@friendly
def train(
    source: str,
    upload: str | None,
    pasted: str,
    kind: str,
    vocab_size: float,
    sample: str,
    shown: list[str],
    request: gr.Request = None,
) -> tuple[Any, ...]:
    if kind not in ALGORITHM_LABELS:
        raise UserError(f"Pick one of: {', '.join(ALGORITHM_LABELS)}.")
    trained = tt.learn_tokenizer(_training_text(source, upload, pasted), ALGORITHM_LABELS[kind], int(vocab_size))
    own = session.get(session_id(request))
    own.trained[trained.kind] = trained
    own.latest = trained.kind
    final = len(trained.tokenizer)
    own.tokenizers[f"{ALGORITHM_LABELS[kind]} · {final:,} tokens"] = trained.tokenizer  # the Train tab offers it
    path = tt.save_tokenizer_json(trained, own.new_folder("tokenizer"))
    key = f"yours-{trained.kind}"
    last = len(trained.merges)
    return (
        _train_status(trained, int(vocab_size)),
        _growth_figure(trained, sample),
        gr.DownloadButton(value=str(path), interactive=True),
        gr.Slider(minimum=0, maximum=max(last, 1), value=last, step=1, interactive=True),
        *_replay_view(trained, sample, last),
        gr.CheckboxGroup(choices=_choices(own), value=[k for k, _ in PANELS if k in shown or k == key]),
    )


def _train_status(trained: tt.TrainedTokenizer, asked: int) -> str:
    final = trained.merges[-1].vocab_size if trained.merges else len(trained.base_vocab)
    kind = "BPE" if trained.kind == "bpe" else "WordPiece"
    status = (
        f"**Trained** a {kind} tokenizer on {trained.n_chars:,} characters in {trained.seconds:.1f} s: "
        f"**{len(trained.merges):,} merges**, vocabulary **{final:,}**"
    )
    if final < asked:
        status += f" (the text ran out of pairs to merge before {asked:,})"
    if trained.kind == "wordpiece":
        status += (
            ". WordPiece's score favours pairs whose parts are rare, so common words stay split longer than with BPE"
        )
    return status + f". It is now in the comparison above as *{TITLES['yours-' + trained.kind]}*."


def _latest(own: session.Session | None) -> tt.TrainedTokenizer | None:
    return own.trained[own.latest] if own and own.latest else None


@friendly
def replay_step(step: float, sample: str, request: gr.Request = None) -> tuple[str, list, list]:
    trained = _latest(_own(request))
    if trained is None:
        if int(step) == 0:
            return "", [], []  # the slider set back to its start (a page opened from a link): nothing to replay
        raise UserError("Train a tokenizer first (the button above), then move the slider.")
    return _replay_view(trained, sample, int(step))


@friendly
def replay_sample(step: float, sample: str, request: gr.Request = None) -> tuple[Any, ...]:
    trained = _latest(_own(request))
    if trained is None:
        return gr.skip(), gr.skip(), gr.skip(), gr.skip()  # nothing trained yet: nothing to replay
    return (*_replay_view(trained, sample, int(step)), _growth_figure(trained, sample))


def _code(piece: str, byte_level: bool) -> str:
    """A vocabulary entry as inline code, markers kept."""
    label = tk.piece_label(piece, byte_level)
    return f"`` {label} ``" if "`" in label else f"`{label}`"


def _replay_view(trained: tt.TrainedTokenizer, sample: str, step: int) -> tuple[str, list, list]:
    """(what the step-th merge did, the sample with the first `step` merges, the merges up to it)."""
    r = tt.replay(trained, sample, step)
    new = r.merge.token if r.merge else None
    spans = [(label, "new" if tok == new else str(n % 4)) for n, (tok, label) in enumerate(zip(r.tokens, r.labels))]
    byte_level = trained.byte_level
    recent = [
        [
            m.step,
            f"{tk.piece_label(m.left, byte_level)} + {tk.piece_label(m.right, byte_level)}",
            tk.piece_label(m.token, byte_level),
            m.count,
            "" if m.score is None else f"{m.score:.3g}",
        ]
        for m in trained.merges[max(0, r.step - RECENT_MERGES) : r.step]
    ][::-1]
    return _merge_text(trained, r, sample), spans, recent


def _merge_text(trained: tt.TrainedTokenizer, r: tt.ReplayStep, sample: str) -> str:
    m, total, bl = r.merge, len(trained.merges), trained.byte_level
    if m is None:
        unit = "byte" if bl else "character (`##` inside a word)"
        text = f"**Step 0 of {total:,}**: no merges yet, every {unit} is its own token · vocabulary {r.vocab_size:,}"
    else:
        text = (
            f"**Merge {m.step:,} of {total:,}**: {_code(m.left, bl)} + {_code(m.right, bl)} → {_code(m.token, bl)} · "
            f"the pair occurred **{m.count:,}** times in the training words · vocabulary {r.vocab_size:,}"
        )
    if m is not None and m.score is not None:
        text += (
            f"  \nWordPiece score = count(pair) / (count({_code(m.left, bl)}) × count({_code(m.right, bl)})) = "
            f"{m.count:,} / ({m.left_count:,} × {m.right_count:,}) = **{m.score:.3g}**, the best of all pairs"
        )
    n_words = len((sample or "").split())
    text += f"  \nThe sample: **{len(r.tokens)}** tokens" + (
        f" ({len(r.tokens) / n_words:.2f} per word)" if n_words else ""
    )
    return text + (", orange: made by this merge" if m is not None else "")


def _growth_figure(trained: tt.TrainedTokenizer, sample: str) -> go.Figure:
    """Vocabulary size (left axis) and tokens per word (right axis) as the merges accumulate."""
    steps, vocab, per_word = trained.curves()
    fig = go.Figure()
    xs, ys = charts.thin(steps, vocab)
    fig.add_trace(go.Scatter(x=xs, y=ys, name="vocabulary size", line_color="#4f46e5"))
    xs, ys = charts.thin(steps, per_word)
    fig.add_trace(go.Scatter(x=xs, y=ys, name="tokens per word, training text", yaxis="y2", line_color="#f97316"))
    xs, ys = tt.sample_curve(trained, sample)
    if xs:
        fig.add_trace(
            go.Scatter(
                x=xs, y=ys, name="tokens per word, the sample", yaxis="y2", line=dict(color="#16a34a", dash="dot")
            )
        )
    fig.update_layout(
        title="Merge by merge: the vocabulary grows, words need fewer tokens",
        xaxis_title="merge step",
        yaxis=dict(title="vocabulary size"),
        yaxis2=dict(title="tokens per word", overlaying="y", side="right", rangemode="tozero"),
        legend=dict(orientation="h", y=-0.25),
        template=charts.TEMPLATE,
        margin=dict(l=10, r=10, t=40, b=10),
        height=380,
    )
    return fig


@friendly
def open_page(text: str, shown: list[str] | None, request: gr.Request = None) -> list[Any]:
    """On load: the comparison, and a training section that shows only this session's work.

    A link to the page (`?deep_link=`) carries the components as they were, a replay step and a
    download of another session's file among them, but not the tokenizer behind them: with nothing
    trained here, the section starts empty, and says why when the page came from a link."""
    panels = compare(text, shown, request)
    own = _own(request)
    if own and own.trained:
        return [*panels, *[gr.skip()] * 7]
    linked = bool(request and request.query_params.get("deep_link"))
    return [
        *panels,
        LINKED_TRAINING if linked else "",
        None,
        gr.DownloadButton(value=None, interactive=False),
        gr.Slider(minimum=0, maximum=1, value=0, interactive=False),
        "",
        [],
        [],
    ]


def _show_source(source: str) -> tuple[gr.File, gr.Textbox]:
    return gr.File(visible=source == SOURCES[1]), gr.Textbox(visible=source == SOURCES[2])


# ---------------------------------------------------------------- layout


FAST: dict[str, Any] = dict(show_progress="hidden", trigger_mode="always_last")  # redraws as the text changes


def build() -> tuple[Callable[..., Any], list[Any], list[Any]]:
    """Wire the tab; returns (fn, inputs, outputs) to run when the page loads."""
    gr.Markdown(
        "Before a model sees text, a tokenizer cuts it into pieces from a fixed vocabulary and turns each piece "
        "into an id. Different models cut the same text differently; below, you can also train your own."
    )
    text, shown, outputs = _compare_section()
    training = _training_section(text, shown, outputs)
    maths_panel("tokenizer")
    return open_page, [text, shown], outputs + training


def _compare_section() -> tuple[gr.Textbox, gr.CheckboxGroup, list[Any]]:
    """The text through the ticked tokenizers side by side: (text, ticked, every panel's outputs)."""
    with gr.Row():
        text = gr.Textbox(label="Text", value=EXAMPLES[0][0], lines=3, scale=3, elem_id="tk-text")
        shown = gr.CheckboxGroup(
            _choices(None), value=DEFAULT_SHOWN, label="Tokenizers to compare", scale=2, elem_id="tk-shown"
        )
    gr.Examples(EXAMPLES, inputs=[text])
    with gr.Row():
        hub_id = gr.Textbox(
            label="Add any Hugging Face Hub tokenizer by id (needs the Hub, or a local cache)",
            placeholder="e.g. HuggingFaceTB/SmolLM2-135M",
            scale=3,
            elem_id="tk-hub-id",
        )
        add_hub = gr.Button("Add", scale=1, elem_id="tk-hub-add")
    gr.Markdown(LEGEND, elem_id="tk-legend")
    main, trips, columns = _panels()
    outputs = main + trips
    text.change(compare, [text, shown], outputs, api_name="tokenize", **FAST)
    shown.change(show_panels, [shown], columns, api_name="show_tokenizers", api_visibility="private").then(
        compare, [text, shown], outputs, api_name="tokenize_shown", api_visibility="private", **FAST
    )
    add_hub.click(add_hub_tokenizer, [hub_id, shown], [shown], api_name="add_hub_tokenizer")
    hub_id.submit(add_hub_tokenizer, [hub_id, shown], [shown], api_visibility="private")
    return text, shown, outputs


def _panels() -> tuple[list[Any], list[gr.HighlightedText], list[gr.Column]]:
    """One panel per side (hidden unless ticked): (tokens, stats and table of each, round trips, columns)."""
    main, trips, columns = [], [], []
    with gr.Row(equal_height=False):
        for key, title in PANELS:
            with gr.Column(min_width=420, visible=key in DEFAULT_SHOWN, elem_id=f"tk-panel-{key}") as column:
                gr.Markdown(f"### {title}")
                stats = gr.Markdown(elem_id=f"tk-stats-{key}")
                tokens = spans("Tokens", PALETTE, f"tk-{key}")
                trip = spans(
                    "Round trip: decode(encode(text)) · orange: changed · red: dropped", DIFF_COLORS, f"tk-rt-{key}"
                )
                table = gr.Dataframe(
                    headers=["#", "token", "id"],
                    label="Tokens and ids",
                    interactive=False,
                    max_height=260,
                    elem_id=f"tk-table-{key}",
                )
            main += [tokens, stats, table]
            trips.append(trip)
            columns.append(column)
    return main, trips, columns


def _training_section(text: gr.Textbox, shown: gr.CheckboxGroup, outputs: list[Any]) -> list[Any]:
    """Train your own tokenizer and replay its merges; returns what the page load fills (see open_page)."""
    gr.Markdown(
        "## Train your own tokenizer\n"
        "BPE starts from single bytes, WordPiece from single characters; each step merges one pair of "
        "neighbouring tokens into a new one. BPE merges the most frequent pair; WordPiece the pair with the "
        "best score count(ab) / (count(a) · count(b)), which favours parts that rarely occur apart. "
        "Then move the slider to replay the merges one by one."
    )
    with gr.Row():
        with gr.Column(scale=2):
            source = gr.Radio(SOURCES, value=SOURCES[0], label="Train on", elem_id="tk-source")
            upload = gr.File(
                label="Your .txt file", file_types=[".txt"], type="filepath", visible=False, elem_id="tk-upload"
            )
            pasted = gr.Textbox(label="Your text", lines=5, visible=False, elem_id="tk-pasted")
            kind = gr.Radio(
                list(ALGORITHM_LABELS), value=list(ALGORITHM_LABELS)[0], label="Algorithm", elem_id="tk-kind"
            )
            vocab = gr.Slider(*tt.VOCAB_RANGE, value=2000, step=100, label="Vocabulary size", elem_id="tk-vocab")
            sample = gr.Textbox(label="Sample sentence to replay", value=DEFAULT_SAMPLE, lines=2, elem_id="tk-sample")
            go_train = gr.Button("Train tokenizer", variant="primary", elem_id="tk-train")
            status = gr.Markdown(elem_id="tk-train-status")
            download = gr.DownloadButton("Download tokenizer.json", interactive=False, elem_id="tk-download")
        with gr.Column(scale=3):
            growth = gr.Plot(label="Vocabulary and tokens per word", elem_id="tk-growth")
    step = gr.Slider(0, 1, value=0, step=1, label="Merge step (replay)", interactive=False, elem_id="tk-step")
    merge_text = gr.Markdown(elem_id="tk-merge")
    replayed = spans("The sample with only the merges so far", PALETTE, "tk-replay")
    recent = gr.Dataframe(
        headers=["step", "pair", "new token", "count", "WordPiece score"],
        label=f"The last {RECENT_MERGES} merges up to this step",
        interactive=False,
        elem_id="tk-merges",
    )

    source.change(_show_source, [source], [upload, pasted], api_name="training_source", api_visibility="private")
    go_train.click(
        train,
        [source, upload, pasted, kind, vocab, sample, shown],
        [status, growth, download, step, merge_text, replayed, recent, shown],
        api_name="train_tokenizer",
    ).then(compare, [text, shown], outputs, api_name="tokenize_trained", api_visibility="private", **FAST)
    step.change(replay_step, [step, sample], [merge_text, replayed, recent], api_name="replay_merges", **FAST)
    sample.change(
        replay_sample,
        [step, sample],
        [merge_text, replayed, recent, growth],
        api_name="replay_sample",
        api_visibility="private",
        **FAST,
    )
    return [status, growth, download, step, merge_text, replayed, recent]

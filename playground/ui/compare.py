"""Compare models: the tab's input through two or three models at once, one column each, results as they come."""

from __future__ import annotations

import functools

import gradio as gr

from .. import charts, registry
from .. import compare as cmp
from .. import fill_mask as fm
from . import sliders
from .common import friendly, model_choices, register_picker, resolve_model, session_id
from .inside import pace

PREFIX = {"causal": "nw", "masked": "fm"}
API_NAME = {"causal": "compare_next_word", "masked": "compare_fill_mask"}
# blank: each model tracks the first model's top guess, which fits whatever the input is (a fixed word fit one)
DEFAULT_WORD = ""
SUMMARY_HEADERS = [
    "model",
    "word scored (as its tokens)",
    "rank",
    "probability",
    "loss (nats/token)",
    "perplexity",
    "bits per character",
    "tokens scored",
    "vocabulary",
]
TOP_HEADERS = {
    "causal": ["rank", "token", "id", "probability"],
    "masked": ["mask", "rank", "token", "id", "probability"],
}
LOSS_EXPLAINED = {
    "causal": "**Loss** = the mean next-token cross-entropy over your prompt: every token but the first is predicted "
    "from the ones before it, as in pre-training (perplexity = e^loss).",
    "masked": "**Loss** = the pseudo-log-likelihood of your sentence with your word(s) in the blanks: each token is "
    "masked in turn and the model scores the true one; the loss is the mean of -ln p over the tokens "
    "(Salazar et al., 2020).",
}
BPC_EXPLAINED = (
    "**Bits per character** = the total loss in bits divided by the characters those tokens cover, so "
    "it compares models whatever their tokenizers."
)


# ---------------------------------------------------------------- the handler: one column per model, streamed


def handler(task: str):
    """The event handler of one tab's compare view (a generator: it yields as each model finishes)."""

    @friendly
    def run(text: str, models: list[str], k: float = 5, word: str = "", request: gr.Request = None):
        """Outputs: note, summary table, bits-per-character chart, then per column: column, header, chart, table;
        last the models compared."""
        names = cmp.check_models(models)
        cmp.check_input(task, text, word)
        pace(request, len(names))  # one heavy call per model it runs
        k, moved = sliders.fit(k, 1, cmp.MAX_K, "Candidates per model")  # its events skip Gradio's range check
        results: list[cmp.ModelResult | None] = [None] * len(names)
        # every yield sends the selection back as an update: once the picker refresh has changed its choices,
        # Gradio writes into the page's deep link only the value an update carries (an empty update, even
        # gr.skip(), empties it), never the value the dropdown sends as an input
        selection = gr.update(value=names)
        guessed = not fm.parse_words(word or "")  # the word is the first model's guess: the note says which
        yield [*_view(task, names, results, guessed, moved), selection]  # every column says it is on its way
        for i, result in cmp.stream(
            task, text, names, int(k), word or "", functools.partial(resolve_model, sid=session_id(request))
        ):
            results[i] = result
            yield [*_view(task, names, results, guessed, moved), selection]

    run.__name__ = API_NAME[task]
    return run


def _view(
    task: str, names: list[str], results: list[cmp.ModelResult | None], guessed: bool = False, moved: str = ""
) -> list:
    """`guessed`: no word was typed, so the note says which word is tracked; `moved`: why k was fitted."""
    done = [r for r in results if r is not None]
    first = results[0] if guessed else None
    note = (f"{moved}  \n" if moved else "") + _note(task, done, len(names)) + _guess_note(first)
    out = [note, _summary(done), _bpc_chart(done)]
    for i in range(cmp.MAX_MODELS):
        if i >= len(names):
            out += [gr.Column(visible=False), "", None, []]
        elif (result := results[i]) is None:
            # (the first yield: every column's chart and table shown again, where a model that failed hid them)
            out += [
                gr.Column(visible=True),
                f"### {names[i]}\n⏳ Loading and running…",
                gr.update(value=None, visible=True),
                gr.update(value=[], visible=True),
            ]
        else:
            out += [gr.Column(visible=True), *_column(task, result)]
    return out


def _column(task: str, r: cmp.ModelResult) -> list:
    """Header, chart, table of one model."""
    if r.error:  # its sentence alone: an empty chart and table under it read as a result still to come
        return [f"### {r.name}\n⚠️ {r.error}", gr.update(value=None, visible=False), gr.update(value=[], visible=False)]
    head = (
        f"### {r.name}\n{r.vocab_size:,} tokens in its vocabulary · your input is **{len(r.tokens)}** of them · "
        f"loaded in {r.load_s:.1f} s, ran in {r.run_s:.2f} s"
    )
    if r.truncated:
        head += f"  \n✂️ {r.truncated} tokens were cut to fit its context."
    if r.word_note:
        head += f"  \n{r.word_note}"
    first = [c for c in r.top if c.mask <= 1]  # fill-mask: the first [MASK]'s candidates
    title = (
        "Next token"
        if task == "causal"
        else "First [MASK]" + (" (see the table for the others)" if len(first) < len(r.top) else "")
    )
    fig = charts.probability_bars([c.token for c in first], [c.prob for c in first], [c.id for c in first], title)
    if task == "causal":
        rows = [[c.rank, repr(c.token), c.id, _sig(c.prob)] for c in r.top]
    else:
        rows = [[c.mask, c.rank, c.token, c.id, _sig(c.prob)] for c in r.top]
    return [head, fig, rows]


def _summary(results: list[cmp.ModelResult]) -> list[list]:
    rows = []
    for r in results:
        if r.error:
            continue
        words: list[cmp.WordRank | None] = list(r.words) or [None]
        for w in words:
            loss = r.loss
            rows.append(
                [
                    r.name,
                    ""
                    if w is None
                    else f"{w.word} → {w.scored!r}"
                    + (f" ({w.n_tokens} tokens)" if w.n_tokens > 1 else "")
                    + (f" at mask {w.mask}" if w.mask else ""),
                    None if w is None else w.rank,
                    None if w is None else _sig(w.prob),
                    None if loss is None else round(loss.nats, 3),
                    None if loss is None else round(loss.perplexity, 1),
                    None if loss is None or loss.bits_per_char is None else round(loss.bits_per_char, 3),
                    None if loss is None else loss.n_tokens,
                    r.vocab_size,
                ]
            )
    return rows


def _sig(p: float) -> float:
    """Four significant digits: a random model's 0.00002 stays readable."""
    return float(f"{p:.4g}")


def _bpc_chart(results: list[cmp.ModelResult]):
    scored = [(r.name, r.loss.bits_per_char) for r in results if r.loss and r.loss.bits_per_char is not None]
    if not scored:
        return None
    return charts.model_bars(
        [name for name, _ in scored],
        [bits for _, bits in scored],
        "Bits per character on your text (lower = the model finds it less surprising)",
        "bits per character",
    )


def _guess_note(first: cmp.ModelResult | None) -> str:
    """Which word every model tracks when none was typed: the first model's top guess (empty until it is known)."""
    if first is None or not first.words:
        return ""
    words = ", ".join(f"**{w.word}**" for w in first.words)
    return f"  \nNo word typed, so every model tracks {first.name}'s top guess: {words}. Type a word to track your own."


# what rank and probability mean for a tracked word that a model cuts into several tokens (cmp.WordRank)
SEVERAL_TOKENS = {
    "causal": "For a word of several tokens, the **rank** is its first token's among all next tokens and the "
    "**probability** the whole word's (its tokens' probabilities multiplied): a word can rank 1st and still be "
    "unlikely as a whole.",
    "masked": "For a word of several tokens, the **rank** and **probability** are its first token's at the mask (one "
    "[MASK] stands for one token).",
}


def _note(task: str, results: list[cmp.ModelResult], n: int) -> str:
    parts = [f"{len(results)} of {n} models done." if len(results) < n else "", LOSS_EXPLAINED[task], BPC_EXPLAINED]
    ok = [r for r in results if not r.error]
    if len(ok) > 1:
        if cmp.same_tokens(ok):
            parts.append("These models cut your input into the same tokens, so their losses per token compare too.")
        else:
            counts = ", ".join(f"{r.name}: {len(r.tokens)}" for r in ok)
            parts.append(
                f"⚠️ The tokenizers differ ({counts} tokens), so losses **per token** do not compare: a "
                "model with smaller tokens makes more, easier guesses. Compare **bits per character**."
            )
    if any(w.n_tokens > 1 for r in ok for w in r.words):
        parts.append(SEVERAL_TOKENS[task])
    failed = len(results) - len(ok)
    if failed:
        parts.append(
            f"{failed} model{'s' * (failed != 1)} could not run: see {'their' if failed > 1 else 'its'} column."
        )
    return " ".join(p for p in parts if p)


# ---------------------------------------------------------------- layout


def build(task: str, text: gr.Textbox) -> None:
    """The "Compare models" accordion for a tab whose input box is `text` (Next Word: causal, Fill Mask: masked)."""
    prefix = f"{PREFIX[task]}-cmp"
    choices = registry.choices(task)
    word_label = (
        "Word to track: its rank and probability as the next word"
        if task == "causal"
        else "Word(s) in the blanks, one per [MASK], comma-separated: their rank, probability and the loss"
    )
    with gr.Accordion("Compare models: the same input through two or three models", open=False, elem_id=prefix):
        sliders.enter_applies()  # Enter in the k slider's number box, then Compare, uses what was typed
        gr.Markdown(
            "One input, several models side by side: the tiny model you trained, the bundled one and a real "
            "pretrained checkpoint. Their top guesses, the rank and probability each gives the same word, and each "
            "one's loss on your text show what more pre-training data and a bigger model buy. Each model runs on "
            "its own; a slow first load never holds back the others."
        )
        with gr.Row():
            models = gr.Dropdown(
                choices,
                value=choices[:2],
                multiselect=True,
                max_choices=cmp.MAX_MODELS,
                allow_custom_value=True,
                label="Models (two or three; or type any Hugging Face model id)",
                elem_id=f"{prefix}-models",
                scale=3,
            )
            word = gr.Textbox(
                DEFAULT_WORD,
                label=word_label,
                placeholder="Blank: the first model's top guess",
                elem_id=f"{prefix}-word",
                scale=2,
            )
            k = gr.Slider(1, cmp.MAX_K, value=5, step=1, label="Candidates per model", elem_id=f"{prefix}-k", scale=1)
        go = gr.Button("Compare", variant="primary", elem_id=f"{prefix}-go")
        note = gr.Markdown(elem_id=f"{prefix}-note")
        columns = []
        with gr.Row(equal_height=False):
            for i in range(cmp.MAX_MODELS):
                with gr.Column(visible=i < len(choices[:2]), elem_id=f"{prefix}-col-{i}", min_width=240) as column:
                    head = gr.Markdown(elem_id=f"{prefix}-head-{i}")
                    chart = gr.Plot(show_label=False, elem_id=f"{prefix}-chart-{i}")
                    table = gr.Dataframe(headers=TOP_HEADERS[task], interactive=False, elem_id=f"{prefix}-table-{i}")
                columns += [column, head, chart, table]
        summary = gr.Dataframe(
            headers=SUMMARY_HEADERS, label="Side by side", interactive=False, elem_id=f"{prefix}-summary"
        )
        bpc = gr.Plot(label="Bits per character", elem_id=f"{prefix}-bpc")
    register_picker(models, functools.partial(model_choices, task))  # a model trained later shows up
    go.click(
        handler(task),
        [text, models, k, word],
        [note, summary, bpc, *columns, models],
        api_name=API_NAME[task],
        **sliders.RAW,  # a k typed past the slider is fitted by the handler, saying so
    )

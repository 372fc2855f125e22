"""Next Word tab: what a causal LM thinks comes next, how sampling reshapes it, and how it was trained."""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import gradio as gr
import plotly.graph_objects as go
from gradio.helpers import Examples
from transformers import PreTrainedTokenizerBase

from .. import charts, examples, registry, session
from .. import next_word as nw
from ..errors import UserError
from ..fingerprint import weights_fingerprint
from ..registry import LoadedModel
from . import sliders
from .common import (
    conversion_progress,
    friendly,
    link_model,
    load_model,
    maths_panel,
    model_examples,
    model_note,
    model_picker,
    model_switch,
    session_id,
    spans,
    table_download,
    whole_number,
)
from .compare import build as build_compare
from .inside import build as build_inside

GREEDY, SAMPLE = "greedy (always the top token)", "sample (temperature, top-k, top-p, seed)"
STAGE_BARS = 15  # tokens in the sampling chart
TOP_HEADERS = ["rank", "token", "id", "probability", "log-probability"]
PAIR_HEADERS = ["#", "the model sees (end of the prefix)", "must predict", "id", "probability", "loss = -ln p", "rank"]
LOG_HEADERS = ["step", "token", "id", "probability", "rank", "p in the sampled distribution", "mode"]
WORD_HEADERS = ["piece", "id", "probability given what comes before", "rank"]
# (lowest, highest, default) of the sliders; a shared link's values are clamped to them
SHOWN_RANGE, TEMPERATURE_RANGE, TOP_K_RANGE, TOP_P_RANGE = (1, 50, 10), (0.0, 2.0, 1.0), (0, 100, 0), (0.0, 1.0, 1.0)
# the URL query parameters a link may set (?prompt=...&temperature=0.7): name -> default, or (low, high, default)
URL_PARAMS = {
    "prompt": "",
    "k": SHOWN_RANGE,
    "model": "",  # "": the default model and its first example
    "temperature": TEMPERATURE_RANGE,
    "top_k": TOP_K_RANGE,
    "top_p": TOP_P_RANGE,
    "seed": (0, 2**31 - 1, 0),
    "word": "",
}


def _fitted(value: Any, spec: tuple[float, float, float], what: str, step: float, said: list[str]) -> float:
    """A slider's value as typed (its events skip Gradio's range check, sliders.RAW), fitted into its range; an
    empty box is its default. What had to move is said in `said`."""
    low, high, default = spec
    fitted, moved = sliders.fit(value, low, high, what, step, empty=default)
    if moved:
        said.append(moved)
    return fitted


def _sampling(temperature: Any, top_k: Any, top_p: Any, seed: Any, said: list[str] | None = None) -> nw.Sampling:
    said = [] if said is None else said
    return nw.Sampling(
        _fitted(temperature, TEMPERATURE_RANGE, "Temperature", 0.05, said),
        int(_fitted(top_k, TOP_K_RANGE, "top-k", 1, said)),
        _fitted(top_p, TOP_P_RANGE, "top-p", 0.01, said),
        whole_number(seed, "The seed", default=0),
    )


# ---------------------------------------------------------------- predict: one forward, every view


@friendly
def predict(
    prompt: str,
    top_k: float,
    model: str = "",
    temperature: float = 1.0,
    sample_top_k: float = 0,
    top_p: float = 1.0,
    seed: float = 0,
    request: gr.Request = None,
) -> tuple[Any, ...]:
    """Outputs: chart, table, tokens, note, sampling chart, sampling note, training summary, training table,
    share link. (The tables' CSV files are written by table_download, for the browser only.)"""
    loaded = load_model(model, "causal", request)
    said: list[str] = []  # the sliders' values that had to be fitted into their ranges
    shown = int(_fitted(top_k, SHOWN_RANGE, "How many candidates to show", 1, said))
    sampling = _sampling(temperature, sample_top_k, top_p, seed, said)
    r = nw.next_token_distribution(loaded.model, loaded.tokenizer, prompt, shown, sampling)
    fig = charts.probability_bars(
        [t.token for t in r.top],
        [t.prob for t in r.top],
        [t.id for t in r.top],
        _main_title(len(r.prompt_tokens), sampling),
    )
    table = [[i + 1, repr(t.token), t.id, round(t.prob, 4), round(t.logprob, 3)] for i, t in enumerate(r.top)]
    tokens = [(tok, str(i % 2)) for i, (tok, _) in enumerate(r.prompt_tokens)]
    note = model_note(loaded) + _cut_up_note(loaded, prompt) + "".join(f"  \n{moved}" for moved in said)
    if r.truncated:
        note += (
            f"  \n✂️ The prompt is longer than this model's context of {len(r.prompt_tokens)} tokens: "
            f"its first {r.truncated} tokens were dropped, the model sees only the end."
        )
    pairs_note, pairs = _training_view(r.training, len(loaded.tokenizer))
    link = {
        "prompt": prompt,
        "model": loaded.name,
        "k": shown,
        "temperature": sampling.temperature,
        "top_k": sampling.top_k,
        "top_p": sampling.top_p,
        "seed": sampling.seed,
    }
    return (
        fig,
        table,
        tokens,
        note,
        _stages_figure(r, loaded.tokenizer),
        _stages_note(r, sampling),
        pairs_note,
        pairs,
        f"[Link to this prompt and these settings](?{urlencode(link)}) (copy it to share)",
    )


def _main_title(n_prompt: int, sampling: nw.Sampling) -> str:
    """The main bars are always the model's own distribution (temperature 1, nothing cut); the title says so
    when the sampling knobs are set, and where their effect is drawn."""
    title = f"Next-token probabilities after {n_prompt} prompt tokens"
    if (sampling.temperature, sampling.top_k, sampling.top_p) == (1.0, 0, 1.0):
        return title
    return f"{title}: the model's own (T = 1); at your sampling settings in 'Raw vs transformed' below"


def _stages_figure(r: nw.NextWordResult, tokenizer: PreTrainedTokenizerBase) -> go.Figure:
    """The most likely tokens (by the raw distribution) under each stage: temperature, top-k, top-p."""
    raw = r.stages[0].probs
    ids = raw.topk(min(STAGE_BARS, raw.numel())).indices.tolist()
    labels = nw.token_texts(tokenizer, ids)
    series = {s.label: s.probs[ids].tolist() for s in r.stages}
    return charts.grouped_bars(
        [f"{t} (id {i})" for t, i in zip(labels, ids)],
        series,
        "The next-token distribution, raw and after each sampling step",
    )


def _stages_note(r: nw.NextWordResult, sampling: nw.Sampling) -> str:
    vocab = r.stages[0].support
    if len(r.stages) == 1:
        text = (
            "Temperature 1, top-k off and top-p 1 leave the raw distribution as it is: sampling would draw "
            f"from all {vocab:,} tokens. Lower the temperature to sharpen it, raise it to flatten it; "
            "top-k and top-p cut off the unlikely tail."
        )
    else:
        steps = " → ".join(f"{s.label}: **{s.support:,}** {_tokens(s.support)} possible" for s in r.stages)
        text = f"{steps}. Each step renormalises what is left, so the kept tokens' probabilities grow."
    s = r.sample
    return f"{text}  \nA draw with seed {sampling.seed}: **{s.token!r}** (id {s.id}, raw probability {s.prob:.2%})."


def _tokens(n: int) -> str:
    return "token" if n == 1 else "tokens"


def _cut_up_note(loaded: LoadedModel, text: str) -> str:
    """A sentence on why a word became many pieces, e.g. 'pizza' as 'p iz z a' (empty when none did)."""
    words = nw.split_words(loaded.tokenizer, text)
    if not words:
        return ""
    cut = ", ".join(f"{w!r} is {n} pieces" for w, n in words)
    corpus = str(loaded.meta.get("corpus", "")).split(" (")[0]
    source = f"{len(loaded.tokenizer):,} pieces" + (f" learned from {corpus}" if corpus else "")
    return (
        f"  \n🧩 {cut} to this model: a tokenizer keeps whole pieces only for strings that were common in "
        f"the text it learned from (here {source}), so a rare word is spelled out of smaller ones."
    )


def _training_view(view: nw.TrainingView, vocab: int) -> tuple[str, list[list]]:
    rows = [
        [i + 1, p.context, p.target, p.target_id, round(p.prob, 4), round(p.loss, 3), p.rank]
        for i, p in enumerate(view.pairs)
    ]
    if view.mean_loss is None:
        return "A one-token prompt holds no training pair: type at least two tokens.", rows
    note = (
        f"Pre-training shows the model each prefix of the text and asks for the token that follows: this prompt "
        f"holds **{len(rows)}** such pairs, all scored by the same single forward pass. "
        f"Average loss **{view.mean_loss:.3f}** nats · perplexity **{view.perplexity:,.1f}** (as unsure as a "
        f"uniform pick among that many tokens; a blind guess over the vocabulary scores ln {vocab:,} = "
        f"{math.log(vocab):.2f} nats). Training lowers this number over billions of such pairs."
    )
    return note, rows


# ---------------------------------------------------------------- score my word


@friendly
def score_word(prompt: str, word: str, model: str = "", request: gr.Request = None) -> tuple[str, list[list]]:
    """Outputs: the verdict, the per-piece table."""
    loaded = load_model(model, "causal", request)
    s = nw.score_word(loaded.model, loaded.tokenizer, prompt, word)
    pieces = " + ".join(repr(t.token) for t in s.tokens)
    how = f"tokenized as {pieces}"
    if len(s.tokens) > 1:
        how += (
            f": {len(s.tokens)} tokens, so its probability is the product of each piece's probability "
            "given the ones before"
        )
    if s.spaced:
        how += ". A space was put in front: this model's tokenizer attaches the space to the word that follows it"
    verdict = (
        f"P({s.text!r} comes next) = **{charts.readable_prob(s.prob)}** (log-probability {s.logprob:.2f}) · the first "
        f"piece ranks **#{s.ranks[0]:,}** of {len(loaded.tokenizer):,} next tokens · {how}."
    )
    verdict += _cut_up_note(loaded, s.text)
    if s.truncated:
        verdict += f"  \n✂️ The prompt's first {s.truncated} tokens were dropped to fit the model's context."
    rows = [[repr(t.token), t.id, round(t.prob, 6), rank] for t, rank in zip(s.tokens, s.ranks)]
    return verdict, rows


# ---------------------------------------------------------------- step-by-step generation


def _generation(request: gr.Request | None, loaded: LoadedModel, prompt: str) -> nw.Generation:
    """The session's generation if it belongs to this model and prompt; else a fresh one (the old cache dropped)."""
    own = session.get(session_id(request))
    key = (loaded.name, id(loaded.model), prompt)
    if own.generation is None or own.generation.key != key:
        own.generation = nw.start_generation(loaded.model, loaded.tokenizer, prompt, key)
        own.generation.fingerprint = weights_fingerprint(loaded.model)  # once a generation: "before"
    return own.generation


USING_NOTE = (
    "**Using a model is not training it.** Pre-training changed the weights; generating only reads them. Every "
    "token above came from the same, fixed weights: press **Check the weights** to compare their fingerprint "
    "now with the one taken when this generation started."
)


@friendly
def check_weights(model: str, request: gr.Request = None) -> str:
    """The weights' fingerprint now against the one taken when the session's generation started."""
    own = session.get(session_id(request))
    gen = own.generation
    if gen is None or not gen.fingerprint:
        raise UserError("Generate a few tokens first: the fingerprint is taken when a generation starts.")
    loaded = load_model(model, "causal", request)
    if gen.key[:2] != (loaded.name, id(loaded.model)):
        raise UserError("The model changed since this generation started: generate with this one first.")
    now = weights_fingerprint(loaded.model)
    if now != gen.fingerprint:  # only training changes weights: this would be a bug, and says so
        return f"⚠️ The weights changed: `{gen.fingerprint}` → `{now}`."
    return (
        f"Before the first of {len(gen.steps)} generated tokens: `{gen.fingerprint}` · now: `{now}` — "
        "**unchanged**. Generating does not change the model; only training does (the Train tab)."
    )


MODE_COLOURS = {"greedy": "#bbf7d0", "sampled": "#fbcfe8"}
TEXT_STYLE = "white-space:pre-wrap;line-height:1.6;margin-top:2em"  # newlines kept; clear of the component's label


def _text_html(gen: nw.Generation, tokenizer: PreTrainedTokenizerBase) -> str:
    """The prompt, then each generated token highlighted by how it was chosen, as one running text."""
    marks = "".join(
        f'<mark title="step {s.step}, {s.mode}" style="background:{MODE_COLOURS[s.mode]};padding:0;'
        f'color:inherit">{html.escape(s.token)}</mark>'
        for s in gen.steps
    )
    legend = " · ".join(f'<span style="background:{c};padding:0 4px">{m}</span>' for m, c in MODE_COLOURS.items())
    prompt = html.escape(str(tokenizer.decode(gen.ids[: gen.prompt_len])))
    return (
        f'<div class="nw-generated" style="{TEXT_STYLE}">{prompt}{marks}</div>'
        f'<div style="font-size:0.85em;opacity:0.8">Generated tokens: {legend}</div>'
    )


def _generation_view(gen: nw.Generation, loaded: LoadedModel) -> tuple[str, list[list], str]:
    """Outputs: the text (prompt, then the generated tokens highlighted), the step log, a note."""
    text = _text_html(gen, loaded.tokenizer)
    log = [[s.step, repr(s.token), s.id, round(s.prob, 4), s.rank, round(s.drawn_prob, 4), s.mode] for s in gen.steps]
    done = f"{len(gen.steps)} {_tokens(len(gen.steps))} generated"
    note = (
        f"{done}. The KV cache holds the keys and values of {gen.cached} tokens, so "
        "each step feeds the model only the newest token instead of re-reading the whole text."
    )
    if gen.windowed:
        note = (
            f"{done}. The text is now longer than the model's context, so each step "
            "re-reads only its last context's worth of tokens (positions shift, so the cache cannot be reused)."
        )
    if gen.truncated:
        note += f" ✂️ The prompt's first {gen.truncated} tokens were dropped to fit the context."
    return text, log, note


@friendly
def next_step(
    prompt: str,
    model: str,
    mode: str,
    temperature: float,
    top_k: float,
    top_p: float,
    seed: float,
    request: gr.Request = None,
) -> tuple[str, list[list], str]:
    """One more token, on the session's KV cache. Outputs: text, log, note."""
    loaded = load_model(model, "causal", request)
    gen = _generation(request, loaded, prompt)
    nw.next_step(loaded.model, loaded.tokenizer, gen, _sampling(temperature, top_k, top_p, seed), mode == GREEDY)
    return _generation_view(gen, loaded)


@friendly
def generate(  # noqa: PLR0913 — a Gradio handler: one parameter per input component (the API names them)
    prompt: str,
    model: str,
    mode: str,
    n: float,
    temperature: float,
    top_k: float,
    top_p: float,
    seed: float,
    request: gr.Request = None,
) -> Iterator[tuple[str, list[list], str]]:
    """N more tokens, streamed one by one. Outputs: text, log, note."""
    loaded = load_model(model, "causal", request)
    gen = _generation(request, loaded, prompt)
    sampling = _sampling(temperature, top_k, top_p, seed)
    for _ in nw.generate(loaded.model, loaded.tokenizer, gen, int(n), sampling, mode == GREEDY):
        yield _generation_view(gen, loaded)


def reset(request: gr.Request = None) -> tuple[str, list, str]:
    own = session.peek(session_id(request))
    if own is not None:
        own.generation = None  # its KV cache goes with it
    return "", [], "Cleared: the next step starts again from the prompt."


# ---------------------------------------------------------------- links and the API


def from_url(  # noqa: PLR0913 — the page-load handler: one parameter per input the page holds
    prompt: str,
    k: float,
    model: str,
    temperature: float,
    top_k: float,
    top_p: float,
    seed: float,
    word: str,
    request: gr.Request = None,
) -> Iterator[list[Any]]:
    """On page load: the page's inputs (as a whole-page link restored them), each replaced by the URL's query
    where it has one (?prompt=...&temperature=0.7), then the prediction. Inputs and outputs: prompt, shown,
    model, temperature, top-k, top-p, seed, word; then predict's outputs."""
    query = dict(getattr(request, "query_params", None) or {})
    if "deep_link" in query:  # the link restored the page as it was when copied: that wins over the address
        query = {}
    values = [prompt, k, model, temperature, top_k, top_p, seed, word]
    inputs = [_parse(query.get(name), spec, value) for (name, spec), value in zip(URL_PARAMS.items(), values)]
    inputs[2] = link_model(inputs[2] or registry.default_model("causal"), "causal", request)
    inputs[0] = inputs[0] or model_examples(inputs[2], "causal", session_id(request))[0][0]
    for line in conversion_progress(inputs[2]):  # a packaged model converting: say so instead of a frozen page
        yield [*inputs, *[gr.skip()] * 3, line, *[gr.skip()] * 5]
    yield [*inputs, *predict(*inputs[:-1], request=request)]


def _parse(text: str | None, spec: object, current: Any = None) -> Any:
    """A query value: text as it is, or a number clamped to (low, high); when missing or unreadable, the value
    the page holds (`current`), else the default."""
    fallback = current if current is not None else spec[-1] if isinstance(spec, tuple) else spec
    if text is None or not text.strip():
        return fallback
    if not isinstance(spec, tuple):
        return text
    low, high, default = spec
    try:
        value = type(default)(float(text))
    except (ValueError, OverflowError):  # not a number, or inf for an int
        return fallback
    return min(max(value, low), high) if math.isfinite(value) else fallback


@friendly
def training_pairs(prompt: str, model: str = "", request: gr.Request = None) -> dict:
    """The (prefix -> next token) pairs a causal LM is trained on in `prompt`, with loss and perplexity."""
    loaded = load_model(model, "causal", request)
    view = nw.training_pairs(loaded.model, loaded.tokenizer, prompt)
    pairs = [
        {
            "context": p.context,
            "target": p.target,
            "id": p.target_id,
            "probability": p.prob,
            "loss": p.loss,
            "rank": p.rank,
        }
        for p in view.pairs
    ]
    return {"model": loaded.name, "pairs": pairs, "mean_loss": view.mean_loss, "perplexity": view.perplexity}


# ---------------------------------------------------------------- layout


def _slider(spec: tuple, step: float, label: str, elem_id: str) -> gr.Slider:
    low, high, default = spec
    return gr.Slider(low, high, value=default, step=step, label=label, elem_id=elem_id)


@dataclass
class _Main:
    """The prompt, its prediction and the top candidates (the first section)."""

    model: gr.Dropdown
    prompt: gr.Textbox
    top_k: gr.Slider
    go: gr.Button
    prompts: Examples
    note: gr.Markdown
    chart: gr.Plot
    tokens: gr.HighlightedText
    table: gr.Dataframe
    table_csv: gr.DownloadButton


@dataclass
class _Sampling:
    temperature: gr.Slider
    top_k: gr.Slider
    top_p: gr.Slider
    seed: gr.Number
    chart: gr.Plot
    note: gr.Markdown


@dataclass
class _Steps:
    """Step-by-step generation."""

    mode: gr.Radio
    n: gr.Slider
    step: gr.Button
    run: gr.Button
    clear: gr.Button
    text: gr.HTML
    note: gr.Markdown
    check: gr.Button
    checked: gr.Markdown
    log: gr.Dataframe
    log_csv: gr.DownloadButton


def build() -> tuple[Callable[..., Any], list[Any], list[Any]]:
    """Wire the tab; returns (fn, inputs, outputs) for page load: settings from the URL, then a prediction."""
    gr.Markdown(
        "A causal (GPT-style) language model reads the text so far and gives every token in its vocabulary "
        "a probability of coming next. Pre-training is nothing more than making the true next token likely."
    )
    main = _main_section()
    sampling = _sampling_section()
    word, score, verdict, pieces = _score_section()
    steps = _steps_section()
    pairs_note, pairs, pairs_csv = _pairs_section()
    build_compare("causal", main.prompt)  # the prompt through two or three models side by side
    build_inside("causal", main.prompt, main.model)  # its attention layer by layer, and the logit lens
    maths_panel("next_word")
    with gr.Row():
        link = gr.Markdown(elem_id="nw-link")
        gr.DeepLinkButton("Copy a link to the whole page", size="sm")

    m, sm = main, sampling
    inputs = [m.prompt, m.top_k, m.model, sm.temperature, sm.top_k, sm.top_p, sm.seed]
    outputs = [m.chart, m.table, m.tokens, m.note, sm.chart, sm.note, pairs_note, pairs, link]
    for shown, button, stem in (
        (m.table, m.table_csv, "next-word-top"),
        (pairs, pairs_csv, "next-word-training-pairs"),
        (steps.log, steps.log_csv, "next-word-steps"),
    ):
        table_download(shown, button, stem)
    _wire_predict(main, sampling, inputs, outputs)
    score.click(score_word, [m.prompt, word, m.model], [verdict, pieces], api_name="score_word")
    word.submit(score_word, [m.prompt, word, m.model], [verdict, pieces], api_visibility="private")
    _wire_steps(steps, main, sampling)
    gr.api(training_pairs, api_name="training_pairs")
    page = [m.prompt, m.top_k, m.model, sm.temperature, sm.top_k, sm.top_p, sm.seed, word]
    return from_url, page, [*page, *outputs]


def _main_section() -> _Main:
    with gr.Row():
        with gr.Column(scale=2):
            model = model_picker("causal", "nw-model")
            rows = examples.examples(model.value, "causal")
            prompt = gr.Textbox(label="Prompt", value=rows[0][0], lines=2, elem_id="nw-prompt")
            top_k = _slider(SHOWN_RANGE, 1, "How many candidates to show", "nw-k")
            go = gr.Button("Predict next word", variant="primary", elem_id="nw-go")
            prompts = gr.Examples(rows, inputs=[prompt], label="Examples (then press Predict)", elem_id="nw-examples")
        with gr.Column(scale=3):
            note = gr.Markdown(elem_id="nw-note")
            chart = gr.Plot(label="Next-token probabilities", elem_id="nw-chart")
    tokens = spans("The prompt as tokens", {"0": "#e0e7ff", "1": "#fde68a"}, "nw-tokens")
    with gr.Row():
        table = gr.Dataframe(
            headers=TOP_HEADERS, label="Top candidates", interactive=False, elem_id="nw-table", scale=4
        )
        table_csv = gr.DownloadButton("CSV", size="sm", elem_id="nw-table-csv", scale=0, min_width=80)
    return _Main(model, prompt, top_k, go, prompts, note, chart, tokens, table, table_csv)


def _sampling_section() -> _Sampling:
    with gr.Accordion("Sampling: temperature, top-k, top-p", open=True):
        gr.Markdown(
            "Generating text means drawing the next token from this distribution. Three knobs reshape it "
            "first, in this order: **temperature** divides the scores (below 1 sharpens, above 1 flattens; "
            "0 = always the top token), **top-k** keeps the k likeliest tokens, **top-p** keeps the fewest "
            "likeliest tokens whose probabilities add up to p."
        )
        with gr.Row():
            temperature = _slider(TEMPERATURE_RANGE, 0.05, "Temperature", "nw-temperature")
            sample_top_k = _slider(TOP_K_RANGE, 1, "top-k (0 = off)", "nw-top-k")
            top_p = _slider(TOP_P_RANGE, 0.01, "top-p (1 = off)", "nw-top-p")
            seed = gr.Number(0, precision=0, label="Seed", minimum=0, elem_id="nw-seed")
        chart = gr.Plot(label="Raw vs transformed", elem_id="nw-sampling-chart")
        note = gr.Markdown(elem_id="nw-sampling-note")
    return _Sampling(temperature, sample_top_k, top_p, seed, chart, note)


def _score_section() -> tuple[gr.Textbox, gr.Button, gr.Markdown, gr.Dataframe]:
    """Score my word: (word box, button, verdict, the word's pieces)."""
    with gr.Accordion("Score my word", open=False):
        with gr.Row():
            word = gr.Textbox(
                label="Any word (or words): how likely is it to come next?",
                placeholder="e.g. fox",
                scale=4,
                elem_id="nw-word",
            )
            score = gr.Button("Score", scale=1, elem_id="nw-score")
        verdict = gr.Markdown(elem_id="nw-score-note")
        pieces = gr.Dataframe(headers=WORD_HEADERS, label="Its tokens", interactive=False, elem_id="nw-score-table")
    return word, score, verdict, pieces


def _steps_section() -> _Steps:
    with gr.Accordion("Step by step: generate one token at a time", open=False):
        with gr.Row():
            mode = gr.Radio([GREEDY, SAMPLE], value=GREEDY, label="Choose the next token by", elem_id="nw-mode")
            n = gr.Slider(1, 100, value=20, step=1, label="N", elem_id="nw-n")
        with gr.Row():
            step = gr.Button("Next token", variant="primary", elem_id="nw-step")
            run = gr.Button("Generate N", elem_id="nw-generate")
            clear = gr.Button("Reset", elem_id="nw-reset")
        text = gr.HTML(
            label="The text so far (generated tokens coloured)",
            show_label=True,
            container=True,
            padding=True,
            elem_id="nw-text",
        )
        note = gr.Markdown(elem_id="nw-gen-note")
        with gr.Row():
            gr.Markdown(USING_NOTE)
            check = gr.Button("Check the weights", size="sm", scale=0, min_width=160, elem_id="nw-check")
        checked = gr.Markdown(elem_id="nw-checked")
        with gr.Row():
            log = gr.Dataframe(headers=LOG_HEADERS, label="Step log", interactive=False, elem_id="nw-log", scale=4)
            log_csv = gr.DownloadButton("CSV", size="sm", elem_id="nw-log-csv", scale=0, min_width=80)
    return _Steps(mode, n, step, run, clear, text, note, check, checked, log, log_csv)


def _pairs_section() -> tuple[gr.Markdown, gr.Dataframe, gr.DownloadButton]:
    """How it is trained: (note, the training pairs, their CSV button)."""
    with gr.Accordion("How it is trained: the (prefix → next token) pairs in your prompt", open=False):
        note = gr.Markdown(elem_id="nw-pairs-note")
        with gr.Row():
            pairs = gr.Dataframe(
                headers=PAIR_HEADERS, label="Training pairs", interactive=False, elem_id="nw-pairs", scale=4
            )
            pairs_csv = gr.DownloadButton("CSV", size="sm", elem_id="nw-pairs-csv", scale=0, min_width=80)
    return note, pairs, pairs_csv


def _wire_predict(main: _Main, sampling: _Sampling, inputs: list[Any], outputs: list[Any]) -> None:
    """Every way to ask for a prediction: the button, Enter, a slider let go, a seed, a model chosen."""
    # every event skips Gradio's range check (sliders.RAW): predict fits a slider's typed value, saying so
    main.go.click(predict, inputs, outputs, api_name="next_word", **sliders.RAW)
    model_switch(main.model, "causal", main.prompts.dataset, main.note)
    main.prompt.submit(predict, inputs, outputs, api_visibility="private", **sliders.RAW)
    for control in (main.top_k, sampling.temperature, sampling.top_k, sampling.top_p):
        control.release(predict, inputs, outputs, api_visibility="private", trigger_mode="always_last", **sliders.RAW)
    sampling.seed.submit(predict, inputs, outputs, api_visibility="private", **sliders.RAW)
    main.model.input(predict, inputs, outputs, api_visibility="private", **sliders.RAW)  # a model chosen is a run


def _wire_steps(steps: _Steps, main: _Main, sampling: _Sampling) -> None:
    """The generation is the session's: one more token, N more, reset, and the weights' fingerprint."""
    knobs = [sampling.temperature, sampling.top_k, sampling.top_p, sampling.seed]
    gen_outputs = [steps.text, steps.log, steps.note]
    steps.step.click(next_step, [main.prompt, main.model, steps.mode, *knobs], gen_outputs, api_name="next_step")
    steps.run.click(generate, [main.prompt, main.model, steps.mode, steps.n, *knobs], gen_outputs, api_name="generate")
    steps.clear.click(reset, None, gen_outputs, api_name="reset_generation", api_visibility="private")
    steps.check.click(check_weights, [main.model], [steps.checked], api_name="check_weights")

"""Fill Mask tab: what a masked LM puts in each [MASK], how likely your own words are, and how BERT is trained."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr
import plotly.graph_objects as go

from .. import charts, examples
from ..fill_mask import MAX_MASKS, SUGGESTED_RANKS, fill_mask, parse_words, score_candidates, suggest_words
from ..masking import MAX_ROLLS, MaskedToken, Recipe, Simulation, rates, simulate
from . import sliders
from .common import (
    friendly,
    link_model,
    load_model,
    maths_panel,
    model_header,
    model_note,
    model_switch,
    spans,
    table_download,
    whole_number,
)
from .compare import build as build_compare
from .inside import build as build_inside

SIM_EXAMPLES = [
    ["To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer the slings and arrows."],
    ["Now is the winter of our discontent made glorious summer by this sun of York."],
    ["The quick brown fox jumps over the lazy dog, unquestionably."],
]
FATE_COLOURS = {"not picked": "#e5e7eb", "[MASK]": "#a5b4fc", "random": "#fca5a5", "unchanged": "#86efac"}
FILL_HEADERS = ["mask", "rank", "token", "id", "probability"]
TOP_K_RANGE = (1, 30)  # the top-k slider's
SCORE_HEADERS = ["word", "token scored", "id", "probability", "rank", "tokens in word"]
SIM_HEADERS = [
    "position",
    "token",
    "id",
    "model input",
    "input id",
    "label",
    "fate",
    "model's guess",
    "p(guess)",
    "p(true token)",
    "loss",
]
RATE_HEADERS = ["rate", "chosen", "realised", "tokens counted"]


@friendly
def predict(text: str, top_k: float, model: str = "", request: gr.Request = None) -> tuple[str, go.Figure, list, str]:
    """Its events skip Gradio's range check (sliders.RAW): a top-k typed past the slider is fitted here, saying so."""
    loaded = load_model(model, "masked", request)
    k, moved = sliders.fit(top_k, *TOP_K_RANGE, "Candidates per mask")
    result = fill_mask(loaded.model, loaded.tokenizer, text, int(k))
    first = result.masks[0].candidates
    fig = charts.probability_bars(
        [c.token for c in first],
        [c.prob for c in first],
        [c.id for c in first],
        "Candidates for the first [MASK]" + (f" (of {len(result.masks)})" if len(result.masks) > 1 else ""),
    )
    table = [
        [n + 1, rank + 1, c.token, c.id, round(c.prob, 4)]
        for n, mask in enumerate(result.masks)
        for rank, c in enumerate(mask.candidates)
    ]
    note = model_note(loaded) + _cut_note(result.truncated) + (f"  \n{moved}" if moved else "")
    return f"**Filled in:** {result.filled}", fig, table, note


def _cut_note(truncated: int) -> str:
    return (
        f"  \n✂️ The text was longer than the model's context: its last {truncated} tokens were cut."
        if truncated
        else ""
    )


@friendly
def score(
    text: str, words: str, mask_number: float | None, model: str = "", request: gr.Request = None
) -> tuple[str, go.Figure, list, str]:
    """Blank words: the model's own guesses at a spread of ranks (a fixed default list would fit one sentence)."""
    loaded = load_model(model, "masked", request)
    number = whole_number(mask_number, "The mask number")
    own = parse_words(words or "")
    chosen = own or suggest_words(loaded.model, loaded.tokenizer, text, number)
    result = score_candidates(loaded.model, loaded.tokenizer, text, chosen, number)
    s = result.scores
    fig = charts.probability_bars(
        [c.word if c.n_tokens == 1 else f"{c.word} ({c.token}…)" for c in s],
        [c.prob for c in s],
        [c.id for c in s],
        f"Your words at mask {result.mask_number} of {result.n_masks}" if own else "The model's own words",
        fmt=charts.readable_prob,  # a word the model finds unlikely reads 3.1e-07, not 0.0%
    )
    table = [[c.word, c.token, c.id, charts.readable_prob(c.prob), c.rank, c.n_tokens] for c in s]
    split = [c for c in s if c.n_tokens > 1]
    summary = f"Scored at mask **{result.mask_number}** of {result.n_masks}; rank 1 is the model's own top choice."
    if not own:
        ranks = ", ".join(str(r) for r in SUGGESTED_RANKS[: len(s)])
        summary += (
            f" No words were given, so these are the model's own: the whole words it ranks {ranks} there. "
            "Type yours (commas between) to see where they rank."
        )
    if split:
        summary += " " + " ".join(
            f"*{c.word}* is {c.n_tokens} tokens to this model: only its first, *{c.token}*, was scored (as the "
            "fill-mask pipeline's `targets` do)."
            for c in split
        )
    return summary, fig, table, model_note(loaded) + _cut_note(result.truncated)


# the simulator's sliders, as (low, high, default): its events skip Gradio's range check (sliders.RAW) and fit them
P_RANGE, MASK_RANGE, RANDOM_RANGE = (0, 100, 15), (0, 100, 80), (0, 100, 10)
ROLLS_RANGE = (10, MAX_ROLLS, 1000)


def _percent(value: Any, spec: tuple[int, int, int], what: str, said: list[str]) -> float:
    fitted, moved = sliders.fit(value, spec[0], spec[1], what, empty=spec[2])
    if moved:
        said.append(moved)
    return fitted


def _shares(mask: Any, random: Any, said: list[str]) -> tuple[float, float]:
    """The [MASK] and random shares of the picked, fitted; together at most 100 (the random share gives way)."""
    mask = _percent(mask, MASK_RANGE, "[MASK] (% of picked)", said)
    return mask, min(_percent(random, RANDOM_RANGE, "Random token (% of picked)", said), 100 - mask)


def _recipe(p: Any, mask: Any, random: Any, whole_word: bool, said: list[str]) -> Recipe:
    """The page's recipe, each slider fitted into its range (what moved is said in `said`)."""
    mask, random = _shares(mask, random, said)
    return Recipe(_percent(p, P_RANGE, "Pick rate p", said) / 100, mask / 100, random / 100, bool(whole_word))


@friendly
def mask_sentence(
    text: str,
    p: float,
    mask: float,
    random: float,
    whole_word: bool,
    seed: float | None,
    model: str = "",
    request: gr.Request = None,
) -> tuple[list, str, list, str]:
    loaded = load_model(model, "masked", request)
    said: list[str] = []
    sim = simulate(loaded.model, loaded.tokenizer, text, _recipe(p, mask, random, whole_word, said), _seed(seed))
    shown = [(_shown(t) + " ", None if t.fate == "special" else t.fate) for t in sim.tokens]
    table = [
        [
            t.position,
            t.token,
            t.id,
            t.input_token,
            t.input_id,
            t.label,
            t.fate,
            t.guess,
            _round(t.guess_prob),
            _round(t.true_prob),
            _round(t.loss),
        ]
        for t in sim.tokens
    ]
    return shown, _sim_summary(sim), table, model_note(loaded) + _cut_note(sim.truncated) + _said(said)


def _said(said: list[str]) -> str:
    return "".join(f"  \n{moved}" for moved in said)


def _shown(t: MaskedToken) -> str:
    return f"{t.token}→{t.input_token}" if t.fate in ("[MASK]", "random") else t.token


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _sim_summary(sim: Simulation) -> str:
    r = sim.recipe
    text = (
        f"Seed {sim.seed}: picked **{sim.n_picked} of {sim.n_pickable}** tokens ({sim.n_picked / sim.n_pickable:.0%}). "
        f"Each {'word' if r.whole_word else 'token'} is picked with probability {r.p:.0%}, so the count varies from roll "
        f"to roll; of the picked, {r.mask:.0%} become [MASK], {r.random:.0%} a random token, {r.unchanged:.0%} stay. "
        "[CLS] and [SEP] are never picked. The labels are the original ids at picked positions and -100 elsewhere."
    )
    if sim.loss is None:
        return text + "  \n**No token was picked this time**, so there is no loss: re-roll or raise the pick rate."
    return text + (
        f"  \n**MLM loss {sim.loss:.3f}** nats: the mean of -log p(true token) over the {sim.n_picked} picked positions "
        "only, as in training. The model must also get the *random* and *unchanged* ones right, so it cannot trust "
        "any token it sees."
    )


@friendly
def reroll(seed: float | None) -> int:
    return _seed(seed) + 1


def _seed(seed: float | None) -> int:
    return whole_number(seed, "The seed", default=0)


@friendly
def mask_rates(  # noqa: PLR0913 — a Gradio handler: one parameter per input component (the API names them)
    text: str,
    p: float,
    mask: float,
    random: float,
    whole_word: bool,
    seed: float | None,
    rolls: float,
    model: str = "",
    request: gr.Request = None,
) -> tuple[go.Figure, go.Figure, list, str]:
    loaded = load_model(model, "masked", request)
    said: list[str] = []
    recipe = _recipe(p, mask, random, whole_word, said)
    n_rolls, moved = sliders.fit(rolls, ROLLS_RANGE[0], ROLLS_RANGE[1], "Rolls", 10, empty=ROLLS_RANGE[2])
    said += [moved] if moved else []
    r = rates(loaded.tokenizer, text, recipe, _seed(seed), int(n_rolls))
    unit = "word" if r.recipe.whole_word else "token"
    hist = charts.count_histogram(
        r.picked_per_roll(),
        f"Tokens picked per roll of the {r.n_pickable} pickable, over {len(r.counts):,} rolls",
        "tokens picked in one roll",
        r.expected_picks(),
    )
    running = r.running()
    conv = charts.convergence(
        range(1, len(r.counts) + 1),
        running,
        r.targets(),
        "Realised rates settle on the chosen ones (dashed)",
        f"rolls (each {unit} picked independently)",
        "rate",
    )
    conv.update_layout(legend=dict(orientation="h", y=-0.25), margin_b=90)  # the legend below: the lines get the width
    counts = r.counts.sum(axis=0)
    picked = int(counts[1:].sum())
    table = [
        [name, f"{target:.1%}", f"{running[name][-1]:.2%}", r.n_tokens if i == 0 else picked]
        for i, (name, target) in enumerate(r.targets().items())
    ]
    return hist, conv, table, model_note(loaded) + _said(said)


def unchanged_share(mask: float, random: float) -> str:
    return f"Of the picked: {mask:.0f}% [MASK] + {random:.0f}% random → **{100 - mask - random:.0f}% stay unchanged**"


def mask_moved(mask: Any, random: Any) -> tuple[float, float, str]:
    """[MASK] and random share the picked tokens: the random share gives way. Outputs: mask, random (both fitted
    into their sliders), the note."""
    said: list[str] = []
    mask, random = _shares(mask, random, said)
    return mask, random, unchanged_share(mask, random) + _said(said)


def random_moved(mask: Any, random: Any) -> tuple[float, float, str]:
    """The [MASK] share gives way to the random share. Outputs: mask, random, the note."""
    said: list[str] = []
    random = _percent(random, RANDOM_RANGE, "Random token (% of picked)", said)
    mask = min(_percent(mask, MASK_RANGE, "[MASK] (% of picked)", said), 100 - random)
    return mask, random, unchanged_share(mask, random) + _said(said)


@friendly
def from_link(
    text: str, top_k: float, model: str, words: str, mask_number: float | None, request: gr.Request = None
) -> tuple[Any, ...]:
    """On page load: the sentence and model the page holds (as a whole-page link restored them), or those of
    ?fm_text=...&fm_model=... in the address; then fill the masks and score the words, so no chart starts blank.
    Outputs: text, model, the fill outputs, the score outputs but the note, the note."""
    params = dict(request.query_params) if request else {}
    if "deep_link" in params:  # the link restored the page as it was when copied: that wins over the address
        params = {}
    text, model = params.get("fm_text") or text, link_model(params.get("fm_model") or model, "masked", request)
    filled, chart, table, model_line = predict(text, top_k, model, request)
    try:  # blank words score the model's own; a score that cannot run (a mask number past the sentence's) waits
        scored = score(text, words, mask_number, model, request)[:3]  # for the button, which says why
    except gr.Error:
        scored = ("", None, [])
    return text, model, filled, chart, table, *scored, model_line


def build() -> tuple[Callable[..., Any], list[Any], list[Any]]:
    gr.Markdown(
        "A masked (BERT-style) language model sees the whole sentence, left and right, and guesses the hidden "
        f"words. Write `[MASK]` where a word is missing (up to {MAX_MASKS}; RoBERTa-style models get their own "
        "`<mask>`). Then see **how such a model is trained** in the masking simulator."
    )
    model, note = model_header("masked", "fm")
    sliders.enter_applies()  # Enter in a slider's number box applies it, as leaving the box does
    with gr.Tabs():
        with gr.Tab("Fill the blanks"):
            page, outputs = _fill_section(model, note)
        with gr.Tab("Masking simulator: BERT's 15% and 80/10/10"):
            _simulator_section(model, note)
    build_compare("masked", page[0])  # the sentence through two or three models side by side
    build_inside("masked", page[0], model)  # its attention, layer by layer
    maths_panel("fill_mask")
    return from_link, page, [page[0], model, *outputs]


def _fill_section(model: gr.Dropdown, note: gr.Markdown) -> tuple[list[Any], list[Any]]:
    with gr.Row():
        with gr.Column(scale=2):
            rows = examples.examples(model.value, "masked")
            text = gr.Textbox(label="Sentence with [MASK]", value=rows[0][0], lines=2, elem_id="fm-text")
            top_k = gr.Slider(*TOP_K_RANGE, value=5, step=1, label="Candidates per mask (top-k)", elem_id="fm-topk")
            go = gr.Button("Fill the mask", variant="primary", elem_id="fm-go")
            sentences = gr.Examples(rows, inputs=[text], elem_id="fm-examples")
        with gr.Column(scale=3):
            filled = gr.Markdown(elem_id="fm-filled")
            chart = gr.Plot(label="Top candidates", elem_id="fm-chart")
    table = gr.Dataframe(headers=FILL_HEADERS, label="Every mask", interactive=False, elem_id="fm-table")
    download = gr.DownloadButton("Download the table (CSV)", interactive=False, elem_id="fm-csv", size="sm")
    gr.Markdown(
        "### Score your own words\nHow likely does the model find the words *you* have in mind for a mask, and where "
        "do they rank in its whole vocabulary? (A word the tokenizer splits into several tokens is scored by its first.)"
    )
    with gr.Row():
        words = gr.Textbox(
            label="Words, separated by commas",
            placeholder=f"Blank: the model's own words at ranks {', '.join(map(str, SUGGESTED_RANKS))}",
            elem_id="fm-words",
            scale=3,
        )
        mask_number = gr.Number(
            1, precision=0, minimum=1, maximum=MAX_MASKS, label="Mask number", elem_id="fm-mask-number"
        )
        go_score = gr.Button("Score my words", elem_id="fm-score", scale=1)
    score_note = gr.Markdown(elem_id="fm-score-note")
    score_chart = gr.Plot(label="Your words", elem_id="fm-score-chart")
    score_table = gr.Dataframe(headers=SCORE_HEADERS, label="Your words", interactive=False, elem_id="fm-score-table")
    score_download = gr.DownloadButton("Download the table (CSV)", interactive=False, elem_id="fm-score-csv", size="sm")

    outputs = [filled, chart, table, note]
    go.click(predict, [text, top_k, model], outputs, api_name="fill_mask", **sliders.RAW)
    model_switch(model, "masked", sentences.dataset, note)
    text.submit(predict, [text, top_k, model], outputs, api_visibility="private", **sliders.RAW)
    top_k.release(
        predict, [text, top_k, model], outputs, api_visibility="private", trigger_mode="always_last", **sliders.RAW
    )
    model.input(predict, [text, top_k, model], outputs, api_visibility="private", **sliders.RAW)  # chosen = run
    score_outputs = [score_note, score_chart, score_table, note]
    go_score.click(score, [text, words, mask_number, model], score_outputs, api_name="score_candidates")
    for box in (words, mask_number):  # Enter in either box scores
        box.submit(score, [text, words, mask_number, model], score_outputs, api_visibility="private")
    table_download(table, download, "fill-mask")
    table_download(score_table, score_download, "fill-mask-scores")
    return [text, top_k, model, words, mask_number], [filled, chart, table, score_note, score_chart, score_table, note]


def _simulator_section(model: gr.Dropdown, note: gr.Markdown) -> None:
    gr.Markdown(
        "BERT learns by filling in blanks it made itself. For every training sentence, each token is **picked** "
        "with probability *p* (15%). Of the picked tokens, **80%** become `[MASK]`, **10%** a **random** token and "
        "**10%** stay **unchanged**, so the model cannot learn to look only at `[MASK]`. The loss is counted at the "
        "picked positions only. This is transformers' `DataCollatorForLanguageModeling`, the same code our trainer "
        "uses. Colours show each token's fate; *Re-roll* draws again."
    )
    text = gr.Textbox(label="Any sentence (no [MASK] needed)", value=SIM_EXAMPLES[0][0], lines=2, elem_id="fm-sim-text")
    with gr.Row():  # the page's width: room for each slider's label and its "100"
        p = gr.Slider(*P_RANGE[:2], value=P_RANGE[2], step=1, label="Pick rate p (% of tokens)", elem_id="fm-sim-p")
        mask = gr.Slider(
            *MASK_RANGE[:2], value=MASK_RANGE[2], step=1, label="[MASK] (% of picked)", elem_id="fm-sim-mask"
        )
        random = gr.Slider(
            *RANDOM_RANGE[:2],
            value=RANDOM_RANGE[2],
            step=1,
            label="Random token (% of picked)",
            elem_id="fm-sim-random",
        )
    unchanged = gr.Markdown(unchanged_share(MASK_RANGE[2], RANDOM_RANGE[2]), elem_id="fm-sim-unchanged")
    with gr.Row():
        whole_word = gr.Checkbox(
            False, label="Whole-word masking (a word's pieces are picked together)", elem_id="fm-sim-wwm"
        )
        seed = gr.Number(0, precision=0, label="Seed (Enter: mask it)", elem_id="fm-sim-seed")
        go = gr.Button("Mask it", variant="primary", elem_id="fm-sim-go")
        again = gr.Button("Re-roll (next seed)", elem_id="fm-sim-reroll")
    gr.Examples(SIM_EXAMPLES, inputs=[text])
    tokens = spans(
        "Each token's fate (picked ones show original→what the model sees)", FATE_COLOURS, "fm-sim-tokens", legend=True
    )
    summary = gr.Markdown(elem_id="fm-sim-summary")
    table = gr.Dataframe(
        headers=SIM_HEADERS, label="Labels and the model's predictions", interactive=False, elem_id="fm-sim-table"
    )
    download = gr.DownloadButton("Download the table (CSV)", interactive=False, elem_id="fm-sim-csv", size="sm")
    _rates_section([text, p, mask, random, whole_word, seed], model, note)

    inputs = [text, p, mask, random, whole_word, seed, model]
    outputs = [tokens, summary, table, note]
    # every event skips Gradio's range check (sliders.RAW): the handlers fit a typed value, saying so
    go.click(mask_sentence, inputs, outputs, api_name="mask_simulator", **sliders.RAW)
    seed.submit(mask_sentence, inputs, outputs, api_visibility="private", **sliders.RAW)
    shares = dict(api_visibility="private", queue=False, **sliders.RAW)
    mask.input(mask_moved, [mask, random], [mask, random, unchanged], **shares)
    random.input(random_moved, [mask, random], [mask, random, unchanged], **shares)
    again.click(reroll, [seed], [seed], api_visibility="private", queue=False).then(
        mask_sentence, inputs, outputs, api_visibility="private", **sliders.RAW
    )
    table_download(table, download, "masking")
    gr.Markdown(FATE_LEGEND)


def _rates_section(recipe: list[Any], model: gr.Dropdown, note: gr.Markdown) -> None:
    """Many rolls of the simulator's sentence and recipe (`recipe`: text, p, mask, random, whole word, seed)."""
    gr.Markdown(
        "### Many rolls\nThe rates are probabilities, not quotas: one roll may pick 2 tokens or 6. Over many rolls "
        "the realised rates settle on the chosen ones."
    )
    with gr.Row():
        rolls = gr.Slider(
            *ROLLS_RANGE[:2], value=ROLLS_RANGE[2], step=10, label="Rolls of the sentence", elem_id="fm-rates-rolls"
        )
        go_rates = gr.Button("Roll many times", elem_id="fm-rates-go")
    with gr.Row():
        hist = gr.Plot(label="Tokens picked per roll", elem_id="fm-rates-hist")
        conv = gr.Plot(label="Rates as rolls add up", elem_id="fm-rates-conv")
    rate_table = gr.Dataframe(
        headers=RATE_HEADERS, label="Chosen and realised rates", interactive=False, elem_id="fm-rates-table"
    )
    rate_download = gr.DownloadButton("Download the table (CSV)", interactive=False, elem_id="fm-rates-csv", size="sm")
    go_rates.click(
        mask_rates, [*recipe, rolls, model], [hist, conv, rate_table, note], api_name="mask_rates", **sliders.RAW
    )
    table_download(rate_table, rate_download, "masking-rates")


FATE_LEGEND = (
    "**Fates:** *not picked* — the model sees the token and is not scored on it (label -100) · *[MASK]* — hidden "
    "behind `[MASK]` · *random* — swapped for a random vocabulary token · *unchanged* — left as it was, yet still "
    "scored. A random draw that happens to be the original token counts as unchanged: for the model it is. With "
    "whole-word masking every piece of a picked word (`noble ##r`) is picked, each piece then gets its own fate, as "
    "in Google's whole-word BERT (transformers' own `whole_word_mask` option would make them all [MASK])."
)

"""Inside the model: the attention of every layer and head on the tab's input, one head large, where a token
looks, long-range links, attention sinks and head patterns; the decoder's and the encoder's masks; and, for a
GPT-style model, the logit lens. One accordion, built into Next Word, Fill Mask and Next Sentence."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from .. import attention as at
from .. import charts, limits
from . import sliders
from .common import friendly, load_model, session_id, whole_number

PREFIX = {"causal": "nw", "masked": "fm", "nsp": "ns"}
API = {"causal": "inside_next_word", "masked": "inside_fill_mask", "nsp": "inside_next_sentence"}
LINK_HEADERS = ["from (query)", "to (key)", "tokens apart", "weight", "weight × distance"]
PATTERN_HEADERS = ["layer", "head", "score"]
LENS_HEADERS = ["layer", "top guess", "its probability", "final choice's rank", "final choice's probability"]

INTRO = {
    "causal": "A GPT-style model (a **decoder**) lets each token look only at the tokens before it: every map below "
    "is a triangle. That is why one forward pass trains on every (prefix → next token) pair of a text at once: "
    "no position can peek at the word it must predict (the training pairs above).",
    "masked": "A BERT-style model (an **encoder**) lets each token look at every other token, left and right: the "
    "maps are full squares. That is why it is trained with `[MASK]`: a model that sees the whole sentence would "
    "otherwise just copy the word it must guess. Follow the `[MASK]` token to see where it gathers its evidence.",
    "nsp": "BERT reads the pair as one sequence, `[CLS] A [SEP] B [SEP]`, and every token sees both sentences. "
    "The IsNext verdict is read from `[CLS]`, so what `[CLS]` (and the B tokens) attend to across the `[SEP]` is "
    "what the NSP head has to decide from.",
}
LONG_RANGE = "Bob, who lives in New York and works as a software engineer, loves exploring new restaurants in the city."
PRESETS: dict[str, dict[str, tuple[str, str | None]]] = {
    "causal": {
        "Long-range: Bob … loves": (LONG_RANGE, None),
        "Shakespeare, tiny model": (
            "ROMEO: But soft, what light through yonder window breaks?",
            "tiny-shakespeare-gpt",
        ),
    },
    "masked": {
        "Long-range: Bob … [MASK]": (LONG_RANGE.replace("loves", "[MASK]"), None),
        "Shakespeare, tiny model": (
            "ROMEO: But soft, what [MASK] through yonder window breaks?",
            "tiny-shakespeare-bert",
        ),
    },
    "nsp": {
        "A pair across the [SEP]": (
            "Bob moved to New York last spring.|He loves exploring new restaurants in the city.",
            None,
        ),
    },
}


@dataclass
class Choice:
    """One request's choices: which layer and head (None = the mean of the layer's heads) and which token."""

    layer: int
    head: int | None
    token: int
    pattern: str
    word: int
    moved: list[str] = field(default_factory=list)  # a sentence per number that had to be fitted

    @classmethod
    def clamp(cls, att: at.Attention, layer, head, mean, token, pattern, word) -> Choice:
        """The choices fitted to this model and input (another model may have fewer layers or heads, and a
        number typed into a slider's box may lie past its range), each move said in a sentence."""
        moved: list[str] = []

        def fit(value, top: int, what: str) -> int:
            fitted, note = sliders.fit(value, 0, top, what)
            if note:
                moved.append(note)
            return int(fitted)

        last = len(att.tokens) - 1
        head_or_mean = None if mean else fit(head, att.heads - 1, "Head")
        chosen = pattern if pattern in at.PATTERNS else at.PATTERNS[0]
        return cls(
            fit(layer, att.layers - 1, "Layer"),
            head_or_mean,
            fit(token, last, "Token to follow"),
            chosen,
            fit(word, last, "The chosen word"),
            moved,
        )


def _note(task: str, att: at.Attention, view: Choice) -> str:
    which = "the mean over its heads" if view.head is None else f"head {view.head}"
    text = "".join(f"{line}  \n" for line in view.moved) + (
        f"**{att.layers} layers × {att.heads} heads** on {len(att.tokens)} tokens. Shown large: layer {view.layer}, "
        f"{which}. Each row is one token looking (the query), each column a token it may look at (the key); a row "
        "sums to 1."
    )
    if att.truncated:
        text += f"  \n✂️ The view shows the first {len(att.tokens)} tokens; {att.truncated} more were left out."
    if task == "nsp":
        cross = at.cross_segment(att, view.layer, view.head)
        text += (
            f"  \nAcross the `[SEP]` in this layer: `[CLS]` puts **{cross.cls_to_b:.0%}** of its attention on B; "
            f"B's tokens put **{cross.b_to_a:.0%}** on A, A's tokens **{cross.a_to_b:.0%}** on B."
        )
    looks = at.looks(att, view.layer, view.head, view.token, k=3)
    tops = ", ".join(f"{x.token!r} ({x.weight:.0%})" for x in looks)
    return text + f"  \n{att.tokens[view.token]!r} looks most at {tops}."


def _views(task: str, att: at.Attention, view: Choice):
    mean_or_head = "mean over heads" if view.head is None else f"head {view.head}"
    chosen = (view.layer, view.head) if view.head is not None else None
    grid = charts.attention_grid(att.weights, "Every layer (rows) and head (columns)", chosen)
    big = charts.attention_map(
        at.matrix(att, view.layer, view.head), att.tokens, f"Layer {view.layer}, {mean_or_head}", view.token
    )
    row = at.matrix(att, view.layer, view.head)[view.token]
    links = charts.attention_links(row, att.tokens, view.token, f"Where {att.tokens[view.token]!r} looks")
    long = [
        [att.tokens[x.query], att.tokens[x.key], x.distance, round(x.weight, 3), round(x.score, 2)]
        for x in at.long_range(att, view.layer, view.head)
    ]
    scores = at.pattern_scores(att, view.pattern, view.word)[:10]
    patterns = [[s.layer, s.head, round(s.score, 3)] for s in scores]
    sinks = charts.heatmap(
        at.sink_share(att),
        "Attention sinks: each head's share on [CLS] / [SEP] / the first token",
        "head",
        "layer",
        colorscale="Oranges",
    )
    m = at.masks(att.tokens)
    masks = charts.mask_pair(att.tokens, m.causal, m.bidirectional)
    return grid, big, links, long, patterns, sinks, masks


def _range(top: int, value, fitted: int | None) -> dict:
    """A slider's new range for this model and input; its value is only touched when it was fitted (a value
    sent back every time would undo a slider the learner moved while this request ran)."""
    if fitted is not None and fitted != value:
        return gr.update(maximum=top, value=fitted)
    return gr.update(maximum=top)


def pace(request: gr.Request | None, cost: float = 1) -> None:
    """One heavy inference call of this page (a forward pass per `cost`), within its session's rate limit
    (limits.INFERENCE); a direct Python call, with no request, is not paced."""
    limits.INFERENCE.take(None if request is None else session_id(request), cost)


# the view's knobs as the page sends them: layer, head, mean over heads, token, pattern, word
Knobs = tuple[float, float, bool, float, str, float]


def handler(task: str) -> Callable[..., tuple[Any, ...]]:
    """The accordion's event handler for one tab (Next Sentence's takes sentence B too)."""

    def run(text: str, text_b: str | None, model: str, knobs: Knobs, request: gr.Request | None) -> tuple[Any, ...]:
        layer, head, mean, token, pattern, word = knobs
        pace(request)
        loaded = load_model(model, task, request)
        att = at.extract(loaded.model, loaded.tokenizer, text, text_b)
        view = Choice.clamp(att, layer, head, mean, token, pattern, word)
        last = len(att.tokens) - 1
        return (
            _note(task, att, view),
            *_views(task, att, view),
            _range(att.layers - 1, layer, view.layer),
            _range(att.heads - 1, head, None if mean else view.head),
            _range(last, token, view.token),
            _range(last, word, view.word),
        )

    if task == "nsp":

        @friendly
        def pair(  # noqa: PLR0913 — a Gradio handler: one parameter per input component (the API names them)
            text_a: str,
            text_b: str,
            model: str = "",
            layer: float = 0,
            head: float = 0,
            mean: bool = False,
            token: float = 0,
            pattern: str = at.PATTERNS[0],
            word: float = 0,
            request: gr.Request = None,
        ) -> tuple[Any, ...]:
            return run(text_a, text_b, model, (layer, head, mean, token, pattern, word), request)

        return pair

    @friendly
    def single(  # noqa: PLR0913 — a Gradio handler: one parameter per input component (the API names them)
        text: str,
        model: str = "",
        layer: float = 0,
        head: float = 0,
        mean: bool = False,
        token: float = 0,
        pattern: str = at.PATTERNS[0],
        word: float = 0,
        request: gr.Request = None,
    ) -> tuple[Any, ...]:
        return run(text, None, model, (layer, head, mean, token, pattern, word), request)

    return single


@friendly
def logit_lens(text: str, model: str = "", position: float = -1, request: gr.Request = None):
    """What the model would predict after each layer, at `position` (-1: the last token)."""
    pace(request)
    loaded = load_model(model, "causal", request)
    lens = at.logit_lens(loaded.model, loaded.tokenizer, text, whole_number(position, "The token position", default=-1))
    at_token = lens.tokens[lens.position]
    fig = charts.lens_heatmap(
        [x.layer for x in lens.layers],
        [x.top for x in lens.layers],
        f"After {at_token!r}: the likeliest next tokens, layer by layer",
    )
    rows = [
        [
            "embeddings" if x.layer == 0 else x.layer,
            x.top[0][0],
            charts.readable_prob(x.top[0][1]),  # (0.0000 would read as "impossible": 3.1e-07 does not)
            x.final_rank,
            charts.readable_prob(x.final_prob),
        ]
        for x in lens.layers
    ]
    first = next((x.layer for x in lens.layers if x.final_rank == 1), lens.layers[-1].layer)
    note = (
        f"The model's final choice after {at_token!r} is **{lens.final_token!r}**; it first ranks #1 "
        f"{'in the embeddings' if first == 0 else f'after layer {first}'}. Each row applies the model's final norm "
        "and output layer to the residual stream after that layer (the *logit lens*); the last row is the model's "
        "real output."
    )
    if lens.truncated:
        note += f"  \n✂️ The first {len(lens.tokens)} tokens are read; {lens.truncated} more were left out."
    return note, fig, rows


def _presets(task: str, text: gr.Textbox, text_b: gr.Textbox | None, model: gr.Dropdown) -> None:
    with gr.Row():
        for label, (value, model_name) in PRESETS[task].items():
            button = gr.Button(label, size="sm", elem_id=f"{PREFIX[task]}-inside-preset-{len(label)}")
            if text_b is not None:
                a, b = value.split("|")
                button.click(lambda a=a, b=b: (a, b), None, [text, text_b], api_visibility="private", queue=False)
            elif model_name:
                button.click(
                    lambda v=value, m=model_name: (v, m), None, [text, model], api_visibility="private", queue=False
                )
            else:
                button.click(lambda v=value: v, None, text, api_visibility="private", queue=False)


def build(task: str, text: gr.Textbox, model: gr.Dropdown, text_b: gr.Textbox | None = None) -> None:
    """The "Inside the model" accordion, on the tab's input box(es) and model picker."""
    p = f"{PREFIX[task]}-inside"
    with gr.Accordion("Inside the model: attention, layer by layer", open=False, elem_id=p):
        sliders.enter_applies()  # Enter in a slider's number box looks again, as leaving the box does
        gr.Markdown(INTRO[task])
        _presets(task, text, text_b, model)
        with gr.Row():
            layer = gr.Slider(0, 11, value=0, step=1, label="Layer", elem_id=f"{p}-layer")
            head = gr.Slider(0, 11, value=0, step=1, label="Head", elem_id=f"{p}-head")
            mean = gr.Checkbox(False, label="Mean over heads", elem_id=f"{p}-mean")
            token = gr.Slider(0, at.MAX_TOKENS - 1, value=0, step=1, label="Token to follow", elem_id=f"{p}-token")
        go = gr.Button("Look inside", variant="primary", elem_id=f"{p}-go")
        note = gr.Markdown(elem_id=f"{p}-note")
        grid = gr.Plot(label="Overview", elem_id=f"{p}-grid")
        with gr.Row(equal_height=False):
            big = gr.Plot(label="One head, large", elem_id=f"{p}-big")
            links = gr.Plot(label="Where the token looks", elem_id=f"{p}-links")
        with gr.Row(equal_height=False):
            long = gr.Dataframe(
                headers=LINK_HEADERS, label="Strongest long-range links", interactive=False, elem_id=f"{p}-long"
            )
            with gr.Column():
                with gr.Row():
                    pattern = gr.Radio(list(at.PATTERNS), value=at.PATTERNS[0], label="Find heads that attend to")
                    word = gr.Slider(0, at.MAX_TOKENS - 1, value=0, step=1, label="The chosen word (token number)")
                patterns = gr.Dataframe(
                    headers=PATTERN_HEADERS, label="Heads ranked", interactive=False, elem_id=f"{p}-patterns"
                )
        sinks = gr.Plot(label="Attention sinks", elem_id=f"{p}-sinks")
        with gr.Accordion("Encoder vs decoder: the two masks on this input", open=False):
            gr.Markdown(
                "The only difference in the attention of a GPT and a BERT is this mask. The decoder's triangle is "
                "what lets one forward pass learn every next word of a text at once; the encoder's square is why "
                "its words must be hidden (`[MASK]`) to be guessed. Word order itself reaches both only through "
                "their positions (the Positional Encoding tab)."
            )
            masks = gr.Plot(show_label=False, elem_id=f"{p}-masks")
        if task == "causal":
            _lens_section(text, model)
    inputs = [text, *([text_b] if text_b is not None else []), model, layer, head, mean, token, pattern, word]
    outputs = [note, grid, big, links, long, patterns, sinks, masks, layer, head, token, word]
    run = handler(task)
    # RAW: a number typed past a slider's range reaches the handler, which fits it and says so (Choice.clamp)
    go.click(run, inputs, outputs, api_name=API[task], **sliders.RAW)
    for control in (layer, head, token, word):
        control.release(run, inputs, outputs, api_visibility="private", trigger_mode="always_last", **sliders.RAW)
    for choice in (mean, pattern):
        choice.input(run, inputs, outputs, api_visibility="private", trigger_mode="always_last", **sliders.RAW)


def _lens_section(text: gr.Textbox, model: gr.Dropdown) -> None:
    with gr.Accordion("Logit lens: the next word, layer by layer", open=False, elem_id="nw-lens"):
        gr.Markdown(
            "Every layer adds to one running vector per token (the residual stream). Read it with the model's own "
            "output layer after each layer, and you see the prediction form: early layers guess common words, "
            "later ones settle on the answer."
        )
        with gr.Row():
            position = gr.Number(-1, precision=0, label="Token position (-1 = the last)", elem_id="nw-lens-pos")
            go = gr.Button("Read every layer", variant="primary", elem_id="nw-lens-go")
        note = gr.Markdown(elem_id="nw-lens-note")
        fig = gr.Plot(show_label=False, elem_id="nw-lens-chart")
        table = gr.Dataframe(headers=LENS_HEADERS, interactive=False, elem_id="nw-lens-table")
    go.click(logit_lens, [text, model, position], [note, fig, table], api_name="logit_lens")
    position.submit(logit_lens, [text, model, position], [note, fig, table], api_visibility="private")  # Enter reads

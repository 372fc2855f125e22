"""Next Sentence tab: BERT's NSP head judging whether B follows A, and the 50/50 pairs it learns from."""

from __future__ import annotations

import gradio as gr

from .. import examples
from ..errors import UserError
from ..next_sentence import LABELS, MAX_PAIRS, coin_range, next_sentence, nsp_pairs
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
from .inside import build as build_inside

TOKEN_HEADERS = ["position", "token", "id", "segment id"]
PAIR_HEADERS = ["pair", "sentence A", "sentence B", "label", "P(IsNext)", "model says", "right?"]

INTRO = (
    "BERT was also pre-trained on a second task: given sentence A and sentence B, is B the sentence that really "
    "came next (label 0, *IsNext*) or one picked at random (label 1, *NotNext*)? Half of its training pairs were "
    "each kind. The NSP head reads the vector at `[CLS]` and gives these two probabilities. How well the model "
    "you picked does it is measured in **Pair builder**: it judges pairs whose answer is known and counts how "
    "many it gets right."
)
LATER_MODELS = (
    "**Did later models keep NSP? No.** RoBERTa (Liu et al., 2019) compared input formats in its Table 2: packing "
    "whole sentences up to 512 tokens *without* the NSP loss (*DOC-SENTENCES*) scored 79.7 on SQuAD 2.0 and 84.7 on "
    "MNLI-m, against 78.7 and 84.0 for BERT's own *SEGMENT-PAIR + NSP* format, with SST-2 about the same (92.7 vs "
    "92.9): removing NSP matched or slightly improved downstream results, so RoBERTa dropped it. ALBERT (Lan et al., "
    "2019) argued that NSP is mostly *topic* prediction (a random B usually comes from another document, about "
    "something else) and replaced it with *sentence-order prediction*: two consecutive segments, in order or "
    "swapped, which makes the model learn coherence rather than topic."
)


@friendly
def predict(sentence_a: str, sentence_b: str, model: str = "", request: gr.Request = None):
    loaded = load_model(model, "nsp", request)
    r = next_sentence(loaded.model, loaded.tokenizer, sentence_a, sentence_b)
    label = {"IsNext (B follows A)": r.is_next, "NotNext (B is random)": r.not_next}
    segments = [(tok + " ", "A" if seg == 0 else "B") for tok, seg in zip(r.tokens, r.token_type_ids)]
    table = [[i, tok, tid, seg] for i, (tok, tid, seg) in enumerate(zip(r.tokens, r.ids, r.token_type_ids))]
    note = model_note(loaded)
    if r.truncated:
        note += (
            f"  \n✂️ A and B together were longer than the model's context ({len(r.ids)} tokens): {r.truncated} tokens "
            "were cut, from the longer sentence first."
        )
    return label, segments, table, note


@friendly
def pairs(
    passage: str, n_pairs: float, tokens_per_side: float, seed: float, model: str = "", request: gr.Request = None
):
    loaded = load_model(model, "nsp", request)
    try:
        chosen = whole_number(seed, "The seed", default=0)
        result = nsp_pairs(loaded.model, loaded.tokenizer, passage, int(n_pairs), chosen, int(tokens_per_side))
    except UserError as err:  # said where the pairs were, and the old pairs cleared (no Error badges over them)
        return f"⚠️ {err}", [], model_note(loaded)
    table = [
        [i + 1, p.a, p.b, LABELS[p.label], round(p.is_next, 3), LABELS[p.verdict], "✓" if p.verdict == p.label else "✗"]
        for i, p in enumerate(result.pairs)
    ]
    source = "your passage" if (passage or "").strip() else "held-out Shakespeare (the last tenth, never trained on)"
    n, low, high = len(result.pairs), *coin_range(len(result.pairs))
    summary = (
        f"Seed {result.seed}: **{n} pairs** from {source} ({result.n_sentences:,} sentences), runs of whole "
        f"sentences up to {result.tokens_per_side} {'token' if result.tokens_per_side == 1 else 'tokens'} per side. "
        f"**{result.n_is_next} of {n} are IsNext** ({result.share_is_next:.0%}): each pair is IsNext on a coin toss, "
        f"so the share varies from seed to seed (with {n} pairs, {low} to {high} IsNext in 19 seeds of 20). "
        f"The model is right on **{result.accuracy:.0%}** of them (a coin flip gets 50%)."
    )
    if result.tokens_per_side < result.asked_per_side:
        summary += (
            f"  \nThe passage has {result.passage_tokens:,} tokens: runs of {result.asked_per_side} a side "
            f"would leave no room for a random B, so they were shortened to {result.tokens_per_side}."
        )
    if n < result.asked:
        summary += (
            f"  \nOnly **{n} different pairs** came out of {result.asked} draws: a short passage holds few, "
            "and none is shown twice. Paste more sentences for more pairs."
        )
    return summary, table, model_note(loaded)


@friendly
def reroll(seed: float | None) -> int:
    return whole_number(seed, "The seed", default=0) + 1


@friendly
def from_link(a: str, b: str, model: str, request: gr.Request = None):
    """On page load: the sentences and model the page holds (as a whole-page link restored them), or those of
    ?ns_a=...&ns_b=...&ns_model=... in the address; then the verdict, so it does not start blank."""
    params = dict(request.query_params) if request else {}
    if "deep_link" in params:  # the link restored the page as it was when copied: that wins over the address
        params = {}
    if params.get("ns_a") and params.get("ns_b"):
        a, b = params["ns_a"], params["ns_b"]
    model = link_model(params.get("ns_model") or model, "nsp", request)
    return a, b, model, *predict(a, b, model, request)


def build():
    gr.Markdown(INTRO)
    model, note = model_header("nsp", "ns")
    with gr.Tabs():
        with gr.Tab("Judge a pair"):
            inputs, outputs = _pair_section(model, note)
        with gr.Tab("Pair builder: how NSP data is made"):
            _builder_section(model, note)
    build_inside("nsp", inputs[0], inputs[2], inputs[1])  # the pair's attention, across the [SEP]
    maths_panel("next_sentence")
    with gr.Accordion("Why later models dropped NSP", open=False):
        gr.Markdown(LATER_MODELS)
    return from_link, inputs, [*inputs, *outputs]


def _pair_section(model, note):
    with gr.Row():
        with gr.Column():
            rows = examples.examples(model.value, "nsp")
            a = gr.Textbox(label="Sentence A", value=rows[0][0], elem_id="ns-a")
            b = gr.Textbox(label="Sentence B", value=rows[0][1], elem_id="ns-b")
            go = gr.Button("Does B follow A?", variant="primary", elem_id="ns-go")
            pair_examples = gr.Examples(rows, inputs=[a, b], elem_id="ns-examples")
        with gr.Column():
            verdict = gr.Label(label="NSP head", elem_id="ns-label")
    segments = spans(
        "The input as BERT sees it: [CLS] A [SEP] B [SEP], coloured by segment (token type) id: 0 = A, 1 = B",
        {"A": "#c7d2fe", "B": "#fed7aa"},
        "ns-segments",
        legend=True,
    )
    table = gr.Dataframe(headers=TOKEN_HEADERS, label="Tokens", interactive=False, elem_id="ns-table")
    download = gr.DownloadButton("Download the table (CSV)", interactive=False, elem_id="ns-csv", size="sm")
    outputs = [verdict, segments, table, note]
    go.click(predict, [a, b, model], outputs, api_name="next_sentence")
    model.input(predict, [a, b, model], outputs, api_visibility="private")  # a model chosen is a model run
    model_switch(model, "nsp", pair_examples.dataset, note)
    table_download(table, download, "next-sentence-tokens")
    return [a, b, model], outputs


def _builder_section(model, note):
    gr.Markdown(
        "BERT's NSP data: cut the text into sentences; for each pair take a run of sentences as A, then as B either "
        "the run right after it (**IsNext**, on a coin toss for each pair) or a run from somewhere else "
        "(**NotNext**). Paste your own passage, or leave the box empty for held-out Shakespeare (the last tenth of tinyshakespeare, "
        "which our Shakespeare models never trained on)."
    )
    with gr.Row():
        with gr.Column(scale=3):
            passage = gr.Textbox(
                label="Passage (empty: held-out Shakespeare)",
                lines=5,
                elem_id="ns-passage",
                placeholder="At least 4 sentences ending in . ! ? or ;",
            )
        with gr.Column(scale=2):
            n_pairs = gr.Slider(2, MAX_PAIRS, value=16, step=2, label="Pairs", elem_id="ns-pairs-n")
            per_side = gr.Slider(
                1,
                62,
                value=62,
                step=1,
                elem_id="ns-pairs-len",
                label="Tokens per side (whole sentences up to this; 62 as in our training, 1 = one sentence a side)",
            )
            seed = gr.Number(0, precision=0, label="Seed (Enter: build)", elem_id="ns-pairs-seed")
            with gr.Row():
                go = gr.Button("Build pairs", variant="primary", elem_id="ns-pairs-go")
                again = gr.Button("Re-roll (next seed)", elem_id="ns-pairs-reroll")
    summary = gr.Markdown(elem_id="ns-pairs-summary")
    table = gr.Dataframe(
        headers=PAIR_HEADERS,
        label="Training pairs and the model's verdicts",
        interactive=False,
        wrap=True,
        column_widths=["5%", "33%", "33%", "8%", "8%", "8%", "5%"],
        elem_id="ns-pairs-table",
    )
    download = gr.DownloadButton("Download the table (CSV)", interactive=False, elem_id="ns-pairs-csv", size="sm")
    inputs, outputs = [passage, n_pairs, per_side, seed, model], [summary, table, note]
    go.click(pairs, inputs, outputs, api_name="nsp_pairs")
    seed.submit(pairs, inputs, outputs, api_visibility="private")
    again.click(reroll, [seed], [seed], api_visibility="private", queue=False).then(
        pairs, inputs, outputs, api_visibility="private"
    )
    table_download(table, download, "nsp-pairs")

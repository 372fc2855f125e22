"""Next Sentence tab: BERT's NSP head judging whether B follows A."""

from __future__ import annotations

import gradio as gr

from ..next_sentence import next_sentence
from .common import friendly, load_model, model_note, model_picker

KATE_A = "for you are call'd plain Kate, And bonny Kate and sometimes Kate the curst;"
KATE_B = (
    "But Kate, the prettiest Kate in Christendom Kate of Kate Hall, my super-dainty Kate, For dainties are all "
    "Kates, and therefore, Kate, Take this of me, Kate of my consolation;"
)
EXAMPLES = [
    [KATE_A, KATE_B],  # held-out Shakespeare: the true next sentence
    [KATE_A, "BAPTISTA: Now, Signior Petruchio, how speed you with my daughter?"],  # a random one
    ["The man went to the store.", "He bought a gallon of milk."],  # BERT paper's examples
    ["The man went to the store.", "Penguins are flightless birds."],
]


@friendly
def predict(sentence_a: str, sentence_b: str, model: str = ""):
    loaded = load_model(model, "nsp")
    r = next_sentence(loaded.model, loaded.tokenizer, sentence_a, sentence_b)
    label = {"IsNext (B follows A)": r.is_next, "NotNext (B is random)": r.not_next}
    segments = [(tok, "A" if seg == 0 else "B") for tok, seg in zip(r.tokens, r.token_type_ids)]
    table = [[i, tok, tid, seg] for i, (tok, tid, seg) in enumerate(zip(r.tokens, r.ids, r.token_type_ids))]
    return label, segments, table, model_note(loaded)


def build() -> None:
    gr.Markdown(
        "BERT was also pre-trained on a second task: given sentence A and sentence B, is B the sentence that "
        "really came next (label 0, *IsNext*) or one picked at random (label 1, *NotNext*)? Half of its "
        "training pairs were each kind.  \n*Our tiny BERT learned NSP from Shakespeare in minutes on a CPU: it is "
        "right on 71% of held-out pairs like those it trained on (runs of verse), but on single short modern "
        "sentences it is close to a coin flip.*"
    )
    with gr.Row():
        with gr.Column():
            model = model_picker("nsp", "ns-model")
            a = gr.Textbox(label="Sentence A", value=EXAMPLES[0][0], elem_id="ns-a")
            b = gr.Textbox(label="Sentence B", value=EXAMPLES[0][1], elem_id="ns-b")
            go = gr.Button("Does B follow A?", variant="primary", elem_id="ns-go")
            gr.Examples(EXAMPLES, inputs=[a, b])
        with gr.Column():
            note = gr.Markdown()
            verdict = gr.Label(label="NSP head", elem_id="ns-label")
    segments = gr.HighlightedText(
        label="The input as BERT sees it: [CLS] A [SEP] B [SEP], coloured by segment (token type) id",
        color_map={"A": "#c7d2fe", "B": "#fed7aa"},
    )
    table = gr.Dataframe(headers=["position", "token", "id", "segment id"], label="Tokens", interactive=False)
    go.click(predict, [a, b, model], [verdict, segments, table, note], api_name="next_sentence")

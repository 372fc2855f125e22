"""BERT's next sentence prediction: does sentence B follow sentence A?"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class NSPResult:
    is_next: float  # probability that B follows A (softmax index 0, as BERT's label 0)
    not_next: float
    tokens: list[str]  # [CLS] A [SEP] B [SEP] as the model sees it
    ids: list[int]
    token_type_ids: list[int]  # 0 for sentence A and its [SEP]s, 1 for sentence B


@torch.no_grad()
def next_sentence(model, tokenizer, sentence_a: str, sentence_b: str) -> NSPResult:
    if not (sentence_a or "").strip() or not (sentence_b or "").strip():
        raise ValueError("Write both sentences: the model judges whether B follows A.")
    enc = tokenizer(sentence_a, sentence_b, return_tensors="pt", truncation="longest_first", return_token_type_ids=True)
    device = next(model.parameters()).device
    out = model(**{k: v.to(device) for k, v in enc.items()})
    probs = torch.softmax(out.seq_relationship_logits[0].float(), dim=-1)
    ids = enc["input_ids"][0].tolist()
    return NSPResult(
        float(probs[0]), float(probs[1]), tokenizer.convert_ids_to_tokens(ids), ids, enc["token_type_ids"][0].tolist()
    )

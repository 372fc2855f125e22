"""The (model, tokenizer) contract: real models of every kind satisfy LanguageModel, and context_limit reads
the position table whichever config field holds it, and the tokenizer's limit only when it is a real one."""

from types import SimpleNamespace

import pytest
import torch
from tokenizers import Tokenizer, models
from transformers import BertConfig, BertForPreTraining, GPT2Config, LlamaConfig, PreTrainedTokenizerFast

from playground import registry
from playground.devices import device_of
from playground.protocols import NO_LIMIT, LanguageModel, context_limit
from playground.tiny.model import TinyConfig


@pytest.fixture(scope="module")
def gpt2_tokenizer():
    return registry.reference_tokenizer("gpt2")  # model_max_length 1024


@pytest.fixture(scope="module")
def unlimited_tokenizer():
    # a tokenizer that sets no limit: transformers says 1e30
    return PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]")))


def with_config(config) -> SimpleNamespace:
    return SimpleNamespace(config=config)  # context_limit reads nothing but the config


@pytest.mark.parametrize(
    "config, limit",
    [
        (GPT2Config(n_positions=64), 64),  # GPT-2: n_positions
        (BertConfig(max_position_embeddings=48), 48),  # BERT: max_position_embeddings
        (LlamaConfig(max_position_embeddings=96), 96),  # Llama-style: max_position_embeddings
        (TinyConfig(vocab_size=10, context_length=80, n_layer=1, n_head=1, n_embd=8), 80),  # ours: context_length
        (GPT2Config(n_positions=4096), 1024),  # the tokenizer's limit is the smaller one here
    ],
)
def test_context_limit_reads_whichever_field_sizes_the_position_table(config, limit, gpt2_tokenizer):
    assert context_limit(with_config(config), gpt2_tokenizer) == limit


def test_a_tokenizer_without_a_real_limit_is_ignored(unlimited_tokenizer):
    assert unlimited_tokenizer.model_max_length > NO_LIMIT
    assert context_limit(with_config(BertConfig(max_position_embeddings=40)), unlimited_tokenizer) == 40
    assert context_limit(None, unlimited_tokenizer) == NO_LIMIT  # no model, no limit said: none


def test_the_tokenizer_alone_when_there_is_no_model(gpt2_tokenizer):
    assert context_limit(None, gpt2_tokenizer) == 1024


def test_real_models_satisfy_the_protocol():
    tiny = registry.load("tiny-shakespeare-gpt", "causal").model
    bert = BertForPreTraining(BertConfig(vocab_size=99, hidden_size=16, num_hidden_layers=1, num_attention_heads=2))
    for model in (tiny, bert):
        assert isinstance(model, LanguageModel)
        assert device_of(model) == torch.device("cpu")
    assert not isinstance(object(), LanguageModel)

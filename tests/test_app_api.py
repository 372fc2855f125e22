"""Every tab's main event, called through gradio_client against the launched app."""

import pytest
from gradio_client import Client

from playground import registry


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def test_next_word_endpoint(client):
    chart, table, tokens, note, *_ = client.predict("ROMEO:", 5, "tiny-shakespeare-gpt", api_name="/next_word")
    assert len(table["data"]) == 5
    probs = [row[3] for row in table["data"]]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1
    assert "tiny-shakespeare-gpt" in note


def test_fill_mask_endpoint(client):
    filled, chart, table, note = client.predict("To be, or not to [MASK]", 5, api_name="/fill_mask")
    assert filled.startswith("**Filled in:**") and "[MASK]" not in filled
    assert len(table["data"]) == 5


def test_next_sentence_endpoint(client):
    label, segments, table, note = client.predict(
        "The man went to the store.", "He bought milk.", api_name="/next_sentence"
    )
    confidences = {c["label"]: c["confidence"] for c in label["confidences"]}
    assert sum(confidences.values()) == pytest.approx(1.0)
    assert table["data"][0][1] == "[CLS]"


def test_tokenize_endpoint(client):
    out = client.predict("Hello world!", api_name="/tokenize")
    bert_table, gpt2_table = out[2], out[5]
    assert [row[2] for row in gpt2_table["data"]] == [15496, 995, 0]
    assert "**3** tokens" in out[4]
    assert [row[1] for row in bert_table["data"]] == ["hello", "world", "!"]


def test_positional_endpoints(client):
    heat, waves, note = client.predict(16, 8, 10000, "0, 1", api_name="/sinusoidal")
    assert "4 sin/cos pairs" in note
    circle, scores, note, pair = client.predict(16, 9, 10000, 24, 0, api_name="/rotary")
    assert "the same offset gives the same score" in note
    assert pair["maximum"] == pair["value"] == 7  # a 16-wide head has pairs 0 to 7: the slider keeps to them
    *heats, curve = client.predict(32, api_name="/position_similarity")
    assert len(heats) == 3
    note, table = client.predict("The cat sat on the mat", "On the mat sat the cat", api_name="/word_order")
    assert "the same tokens in another order" in note and len(table["data"]) == 3
    heat, pca = client.predict("tiny-shakespeare-gpt", "3-D", api_name="/learned_positions")
    assert heat is not None and pca is not None


def test_positional_bad_input_is_explained(client):
    with pytest.raises(Exception, match="does not exist"):
        client.predict(16, 8, 10000, "99", api_name="/sinusoidal")  # "0, 99" draws 0 and says 99 is left out


@pytest.mark.slow
def test_train_endpoint_streams_a_falling_loss(client):
    job = client.submit("GPT-style: next token (causal LM)", "tinyshakespeare (bundled)", "", 30, 1, api_name="/train")
    outputs = list(job)
    status = outputs[-1][1]
    assert status.startswith("**Done**") and "step 30/30" in status
    assert len(outputs) >= 5  # streamed, not one answer at the end


def test_bad_input_becomes_a_message_not_a_traceback(client):
    with pytest.raises(Exception, match=r"Put \[MASK\]"):
        client.predict("no blank here", 5, api_name="/fill_mask")
    # and the tab still works afterwards
    assert client.predict("To be, or not to [MASK]", 3, api_name="/fill_mask")[0].startswith("**Filled in:**")


def test_hub_model_offline_falls_back_with_a_notice(client):
    chart, table, tokens, note, *_ = client.predict("ROMEO:", 5, "gpt2", api_name="/next_word")
    assert registry.offline_default("causal") in note and "cannot be reached" in note  # the best offline stand-in
    assert len(table["data"]) == 5


def test_a_path_is_not_accepted_as_a_model_id(client):
    with pytest.raises(Exception, match="not a Hugging Face model id"):
        client.predict("To be, or not to [MASK]", 5, "../../etc/passwd", api_name="/fill_mask")


def test_adding_a_hub_tokenizer_offline_says_why(client):
    with pytest.raises(Exception, match="cannot be reached and some-org/uncached is not cached"):
        client.predict("some-org/uncached", ["gpt2"], api_name="/add_hub_tokenizer")

"""The core functions behind the tabs, on the bundled checkpoints and the vendored real tokenizers.

Fill Mask, Next Sentence and Next Word have their own files: test_fill_mask.py, test_next_sentence.py,
test_next_word.py."""

import pytest

from playground import registry
from playground.errors import UserError


@pytest.fixture(scope="module")
def gpt():
    return registry.load("tiny-shakespeare-gpt", "causal")


def test_registry_loads_once_and_checks_the_task(gpt):
    assert registry.load("tiny-shakespeare-gpt", "causal") is gpt
    assert "tiny-shakespeare-gpt" in registry.choices("causal")
    with pytest.raises(UserError, match="cannot do next sentence prediction"):
        registry.load("tiny-shakespeare-gpt", "nsp")

"""The notes under the charts say what the drawn data shows at every control's minimum and maximum (issue #22):
each sentence that claims something of the table is checked against the table itself."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from playground import next_word as nw
from playground import positional
from playground.ui import next_word as nw_tab
from playground.ui import positional as pe_tab

from .narrow import present

# the Positional tab's sliders (ui/positional.py): sequence length 2..512, width 2..512, base 10..100,000
LENGTHS, WIDTHS, BASES = (2, 64, 512), (2, 4, 512), (10.0, 10000.0, 100000.0)


@pytest.mark.parametrize(("n", "d", "base"), list(itertools.product(LENGTHS, WIDTHS, BASES)))
def test_the_sinusoid_note_agrees_with_the_table_drawn(n, d, base):
    table = positional.sinusoidal(n, d, base)
    note = pe_tab._sinusoid_note(table, positional.wavelengths(d, base))
    norms = (table**2).sum(1)
    distance = np.sqrt(np.maximum(norms[:, None] + norms[None] - 2 * table @ table.T, 0)) + np.diag(np.full(n, np.inf))
    if "its own pattern" in note:
        assert distance.min() >= 0.1, note  # no two positions drawn alike
    else:
        i, j = map(int, present(re.search(r"positions (\d+) and (\d+) get almost the same", note)).groups())
        assert i != j and distance[i, j] < 0.1, note
    pairs = re.findall(r"\(pair (\d+)\)", note)
    assert len(set(pairs)) == len(pairs), note  # never "from pair 0 to pair 0"


@pytest.mark.parametrize("n", [4, 5, 256])  # the RoPE sliders' positions: 4..256
@pytest.mark.parametrize("head_dim", [4, 256])
def test_the_rope_note_compares_two_different_pairs_at_one_offset(n, head_dim):
    note = pe_tab.rope_views(head_dim, 0, 10000, n, 0)[2]
    (m1, n1), (m2, n2) = [tuple(map(int, p)) for p in re.findall(r"score\(m=(\d+), n=(\d+)\)", note)]
    assert (m1, n1) != (m2, n2) and m1 - n1 == m2 - n2 and max(m1, n1, m2, n2) < n, note
    assert "the same score" in note


def test_too_few_positions_for_two_pairs_is_said():
    scores = np.zeros((2, 2))
    assert "draw at least 3" in pe_tab._rope_note(scores)


@pytest.mark.parametrize(("t", "k", "p"), [(0.0, 0, 1.0), (1.0, 0, 1.0), (5.0, 0, 1.0), (1.0, 1, 1.0), (1.0, 0, 0.0)])
def test_the_main_chart_title_says_it_is_the_raw_distribution_whenever_sampling_is_set(t, k, p):
    title = nw_tab._main_title(5, nw.Sampling(t, k, p))
    assert ("the model's own (T = 1)" in title) == ((t, k, p) != (1.0, 0, 1.0))

r"""Each tab's key formula, as Markdown with LaTeX (rendered by KaTeX in the page), and what its symbols are on
screen. The tabs show them in a collapsed "The maths" panel: maths on demand, never in the way."""

from __future__ import annotations

# what the page's Markdown renders as LaTeX: $$ … $$ on its own line, $ … $ inline
DELIMITERS: list[dict[str, str | bool]] = [
    {"left": "$$", "right": "$$", "display": True},
    {"left": "$", "right": "$", "display": False},
]

FORMULAS = {
    "tokenizer": r"""
**Byte-pair encoding** starts from single characters and repeats one rule until the vocabulary is full: merge the
adjacent pair seen most often in the training text into one new token.

$$(a, b) = \arg\max_{(a, b)} \operatorname{count}(a\,b), \qquad \text{then every } a\,b \to ab$$

The merge list is the tokenizer: the **Replay** view applies it to your text in the order it was learnt.
WordPiece picks the pair with the highest $\operatorname{count}(ab) / (\operatorname{count}(a)\operatorname{count}(b))$
instead, which favours pairs that are rare apart.
""",
    "positional": r"""
**Sinusoidal encoding** (Vaswani et al., 2017): position $pos$, dimension pair $i$, width $d$.

$$PE_{(pos,\,2i)} = \sin\!\left(\frac{pos}{10000^{2i/d}}\right), \qquad PE_{(pos,\,2i+1)} = \cos\!\left(\frac{pos}{10000^{2i/d}}\right)$$

Low $i$ spins fast (wavelength $2\pi$), high $i$ slowly (up to $10000 \cdot 2\pi$): the heatmap's stripes.

**RoPE** turns each pair of a query's (and key's) dimensions by an angle proportional to the position:

$$\begin{pmatrix} q'_{2i} \\ q'_{2i+1} \end{pmatrix} = \begin{pmatrix} \cos m\theta_i & -\sin m\theta_i \\ \sin m\theta_i & \cos m\theta_i \end{pmatrix} \begin{pmatrix} q_{2i} \\ q_{2i+1} \end{pmatrix}, \qquad \theta_i = \text{base}^{-2i/d}$$

so the score $q'_m \cdot k'_n$ depends only on the offset $m - n$: the "same offset, same score" diagonal.
""",
    "next_word": r"""
**Softmax with temperature**: the model gives every token $i$ of the vocabulary a score $z_i$ (a logit); with
temperature $T$,

$$P(\text{token } i \mid \text{prompt}) = \frac{e^{z_i / T}}{\sum_j e^{z_j / T}}$$

The main bars are $T = 1$, the model's own distribution; the *raw vs transformed* chart draws them at your $T$,
top-$k$ and top-$p$. $T < 1$ sharpens the distribution (towards always the top token, $T \to 0$ is greedy),
$T > 1$ flattens it. Top-$k$ and top-$p$ then keep only the $k$ likeliest tokens, or the fewest whose
probabilities add up to $p$, and renormalise. A word of several tokens has the product of their conditionals:
$P(w_1 w_2) = P(w_1)\,P(w_2 \mid w_1)$.
""",
    "fill_mask": r"""
**The masked-LM loss**: BERT picks 15% of the positions, $M$; of those, 80% become `[MASK]`, 10% a random token
and 10% stay as they were, giving the corrupted sentence $\tilde{x}$. Only the picked positions are scored:

$$\mathcal{L}_{\text{MLM}} = -\frac{1}{|M|} \sum_{i \in M} \log P(x_i \mid \tilde{x})$$

The model reads the whole of $\tilde{x}$, left and right of each blank; the bars are $P(\cdot \mid \tilde{x})$ at
a `[MASK]`.
""",
    "next_sentence": r"""
**The next-sentence loss**: from the vector $h_{\text{[CLS]}}$ that the first token ends with, a small layer
gives two scores; their softmax is $p = P(\text{IsNext})$. With $y = 1$ when B really follows A (half the pairs
in pre-training) and $y = 0$ for a random B:

$$\mathcal{L}_{\text{NSP}} = -\big[\, y \log p + (1 - y) \log (1 - p) \,\big]$$

BERT is trained on $\mathcal{L}_{\text{MLM}} + \mathcal{L}_{\text{NSP}}$, which is why a fresh BERT starts near
$\ln V + \ln 2$.
""",
    "train": r"""
**Cross-entropy** is what the curve shows: the mean, over the $N$ predicted tokens of a batch, of minus the log
probability the model gave the true next token.

$$\mathcal{L} = -\frac{1}{N} \sum_{t=1}^{N} \log P(x_{t+1} \mid x_{\le t}), \qquad \text{perplexity} = e^{\mathcal{L}}$$

A blind guess spreads probability evenly over the $V$ tokens: $\mathcal{L} = \ln V$, the dashed line where every
run starts. Perplexity is the number of tokens the model is, in effect, choosing between: $\ln V$ gives $V$.
Bits per character, $\mathcal{L} / (\ln 2 \cdot \text{characters per token})$, compares runs with different
tokenizers.
""",
}

"""The catalogue of hostile inputs every core function is tried with (tests/test_fuzz.py).

Each entry names the input, so a failure says which one; the expected outcome of each core
function on it is asserted next to the call in test_fuzz.py: a result, or a UserError whose
sentence says what to change. Nothing else may come out: no other exception, no hang.
"""

MASK = "[MASK]"

TEXTS = {
    "empty": "",
    "whitespace only": " \t\n  \u3000",
    "emoji": "I love 🍕 with 👩‍👩‍👧 and 🇫🇷!",
    "right-to-left": "مرحبا بالعالم שלום עולם",
    "combining marks": "Zalgo: Z̵̡̛a̴̢͝l̷̨̛g̸̢̛o̶̧͝ e\u0301 n\u0303",
    "zero-width": "zero\u200bwidth\u200cjoin\u200d\ufeffer",
    "control characters": "bell\x07 back\x08 escape\x1b[31m red\x1b[0m \x7f",
    "NUL": "before\x00after",
    "lone surrogate-like": "\ud7ff\ue000\uffff",
    "numbers as strings": "3.14159 -42 1e309 NaN inf 0x1F",
    "one character": "a",
    "no sentence boundary": "a sentence that never ends and goes on and on without a full stop",
    "50 masks": " ".join([MASK] * 50),
    "other model's mask": "The capital of France is <mask>.",
    "markup": "<script>alert('x')</script> **bold** `code` [link](http://x)",
    "long word": "a" * 5000,
    "1 MB": ("To be, or not to be, that is the question. " * 23_000)[:1_000_000],
}

# numbers a UI slider or an API client could send: non-finite, negative, zero, huge
NUMBERS = {
    "NaN": float("nan"),
    "inf": float("inf"),
    "-inf": float("-inf"),
    "negative": -5.0,
    "zero": 0.0,
    "huge": 1e12,
    "fraction": 0.5,
}

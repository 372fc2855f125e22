"""Put files into the Hugging Face cache exactly as a Hub download would, so that
`from_pretrained("org/name")` loads them offline through the real Hub code path."""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import constants

REVISION = "0123456789abcdef0123456789abcdef01234567"


def put_in_hub_cache(model_id: str, tokenizer, model=None) -> None:
    """`model` is a model or just its config (AutoTokenizer reads config.json too)."""
    repo = Path(constants.HF_HUB_CACHE) / ("models--" + model_id.replace("/", "--"))
    snapshot = repo / "snapshots" / REVISION
    if model is not None:
        model.save_pretrained(snapshot)
    tokenizer.save_pretrained(snapshot)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(REVISION)

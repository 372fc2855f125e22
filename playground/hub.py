"""The Hugging Face Hub client: which ids we accept, how large a model may be, and whether the Hub answers.

Ids are checked against the Hub's grammar (no paths, no URLs) before anything is asked. A model's weight files
are sized from the Hub's file list before anything is downloaded. Every request is bounded (HUB_TIMEOUT_S), and
a failure is remembered for HUB_RETRY_S, so that no later request waits on a Hub that is down.
"""

from __future__ import annotations

import os
import re
import threading
import time

from .errors import UserError

HUB_TIMEOUT_S = 5.0  # per attempt: a Space must never hang on the network
HUB_RETRY_S = 600.0  # after a failure, the Hub counts as down for this long
MAX_MODEL_BYTES = int(float(os.environ.get("PLAYGROUND_MAX_MODEL_BYTES", 1.5e9)))
HUB_ID = re.compile(r"^(?:[A-Za-z0-9](?:[\w.-]{0,94}[A-Za-z0-9])?/)?[A-Za-z0-9](?:[\w.-]{0,94}[A-Za-z0-9])?$")
WEIGHT_SUFFIXES = (".safetensors", ".bin")
PROBE_ID = "gpt2"  # the model whose info the start-up probe asks for


class HubUnavailable(UserError):
    """The Hub cannot be reached (offline, refused, timed out) and the model is not cached."""


_hub_down_until = 0.0  # monotonic time until which the Hub is not asked again
_probe_guard = threading.Lock()
_probe_done = threading.Event()
_probe_started = False
_probe_answer = False


def validate_hub_id(model_id: str) -> str:
    """The id, stripped; UserError unless it has the Hub's form 'name' or 'owner/name'."""
    model_id = (model_id or "").strip()
    if not model_id:
        raise UserError("Type a model id, e.g. gpt2 or an 'owner/name' from the Hugging Face Hub.")
    if not HUB_ID.match(model_id) or ".." in model_id or "--" in model_id:
        raise UserError(
            f"{model_id!r} is not a Hugging Face model id: use the form 'name' or 'owner/name' "
            "(letters, digits, '-', '_', '.'), not a path or a URL."
        )
    return model_id


def hub_offline() -> bool:
    """Offline when asked (HF_HUB_OFFLINE / PLAYGROUND_OFFLINE) or after a recent failure."""
    asked = any(os.environ.get(v, "").lower() in ("1", "true", "yes") for v in ("HF_HUB_OFFLINE", "PLAYGROUND_OFFLINE"))
    return asked or time.monotonic() < _hub_down_until


def _mark_hub_down() -> None:
    global _hub_down_until
    _hub_down_until = time.monotonic() + HUB_RETRY_S


def hub_cached(model_id: str) -> bool:
    """Whether the local Hugging Face cache holds the model's config and weights (loadable offline)."""
    from huggingface_hub import try_to_load_from_cache

    def cached(filename: str) -> bool:
        return isinstance(try_to_load_from_cache(model_id, filename), str)

    return cached("config.json") and (cached("model.safetensors") or cached("pytorch_model.bin"))


def start_hub_probe() -> None:
    """Ask the Hub once, in the background (at most HUB_TIMEOUT_S); app start-up calls this first."""
    global _probe_started
    with _probe_guard:
        if _probe_started:
            return
        _probe_started = True
    threading.Thread(target=probe_hub, name="hub-probe", daemon=True).start()


def probe_hub() -> bool:
    """One bounded request for PROBE_ID's model info; a failure is remembered as an outage (hub_offline)."""
    global _probe_answer
    from huggingface_hub import HfApi

    answer = False
    if not hub_offline():
        try:
            HfApi().model_info(PROBE_ID, timeout=HUB_TIMEOUT_S)
            answer = True
        except Exception:  # noqa: BLE001 - refused, timed out, DNS, HTTP error: all "not for us now"
            _mark_hub_down()
    _probe_answer = answer
    _probe_done.set()
    return answer


def hub_reachable() -> bool:
    """The start-up probe's answer, waiting for it at most HUB_TIMEOUT_S; False whenever hub_offline()."""
    start_hub_probe()
    _probe_done.wait(HUB_TIMEOUT_S + 1)
    return _probe_answer and not hub_offline()


def check_size(model_id: str) -> None:
    """Refuse before downloading: the weight files' total size from the Hub's file list (UserError above
    MAX_MODEL_BYTES or for a model that is not public; HubUnavailable when the Hub does not answer)."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    try:
        info = HfApi().model_info(model_id, files_metadata=True, timeout=HUB_TIMEOUT_S)
    except (RepositoryNotFoundError, GatedRepoError) as err:
        raise UserError(
            f"{model_id} is not a public model on the Hugging Face Hub (it may not exist or be gated)."
        ) from err
    except Exception as err:  # connection refused, timed out, DNS: all mean "the Hub is down for us"
        _mark_hub_down()
        raise HubUnavailable("The Hugging Face Hub cannot be reached right now.") from err
    files = info.siblings or []
    safetensors = [f.size or 0 for f in files if f.rfilename.endswith(".safetensors")]
    size = sum(safetensors) if safetensors else sum(f.size or 0 for f in files if f.rfilename.endswith(WEIGHT_SUFFIXES))
    if size > MAX_MODEL_BYTES:
        raise UserError(
            f"{model_id} is {size / 1e9:.1f} GB; this app loads models up to {MAX_MODEL_BYTES / 1e9:.1f} GB."
        )


def explain_hub_error(err: OSError, model_id: str, offline: bool) -> UserError:
    """The sentence for a failed download: the Hub is out of reach (remembered), or the model is not there."""
    if offline:
        return HubUnavailable(f"The Hugging Face Hub cannot be reached and {model_id} is not cached here.")
    if _is_network_error(err):
        _mark_hub_down()
        return HubUnavailable("The Hugging Face Hub cannot be reached right now.")
    return UserError(f"{model_id} could not be loaded from the Hub: it may not exist, or be private or gated.")


def _is_network_error(err: BaseException) -> bool:
    text = f"{type(err).__name__} {err}".lower()
    return any(w in text for w in ("connect", "timed out", "timeout", "resolve", "network", "offline"))

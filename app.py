"""Pretraining Playground: `python app.py` serves the app on http://127.0.0.1:7860."""

import os

# Gradio rebuilds its per-endpoint timing summary (a pandas frame of up to 10,000 past events) after
# every event by default; every 100 events keeps that out of the request path (measured in bench/load.py)
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "100")

from playground import workspace  # noqa: E402 - gradio-free: it names Gradio's cache before gradio is imported

workspace.sweep_orphans()  # the workspaces and Gradio caches of dead processes (never a live one's)
# Gradio copies every download (a checkpoint's zip) into its cache: this process's own folder, so that a crash
# leaves an orphan the next start-up removes (a shared /tmp/gradio names no owner)
if "GRADIO_TEMP_DIR" not in os.environ:
    os.environ["GRADIO_TEMP_DIR"] = str(workspace.make("gradio"))

import gradio as gr  # noqa: E402 - after the settings above

from playground import devices, hub, registry  # noqa: E402
from playground.tiny.train import Limits  # noqa: E402
from playground.ui import CSS, HEAD, build_demo  # noqa: E402

devices.use_tf32()  # float32 training on a GPU through its tensor cores (process-wide)
hub.start_hub_probe()  # in the background: the model pickers' defaults wait for it at most HUB_TIMEOUT_S
demo = build_demo()
# Gradio refuses any upload above this; each field then checks its own, smaller limit (a .txt corpus: 5 MB)
# with a sentence. The largest upload is a checkpoint zip of the largest model the Train tab allows.
LAUNCH = dict(theme=gr.themes.Soft(), max_file_size=Limits.from_env().checkpoint_bytes, head=HEAD, css=CSS)

if __name__ == "__main__":
    on_spaces = bool(os.environ.get("SPACE_ID"))
    registry.warm_up()  # load (or convert, once) each tab's default model now, not on the first visit
    demo.queue(default_concurrency_limit=4).launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0" if on_spaces else "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT") or os.environ.get("PORT") or 7860),
        **LAUNCH,
    )

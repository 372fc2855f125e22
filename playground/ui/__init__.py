"""The only gradio code: one module per tab; `build_demo()` assembles the app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from .. import session
from . import common, fill_mask, next_sentence, next_word, positional, tokenizer, tour, train

TABS = [
    ("Next Word", next_word),
    ("Fill Mask", fill_mask),
    ("Next Sentence", next_sentence),
    ("Tokenizer", tokenizer),
    ("Positional Encoding", positional),
    ("Train Tiny Model", train),
]

INTRO = """# Pretraining Playground
See and do how language models are pre-trained: predict the next word, fill in masked words, judge
whether one sentence follows another, cut text into tokens, encode word order, and train a small
transformer yourself. Each tab starts on the best real model this host has, and it all works offline too."""

# Plotly never wraps a chart title: shrink one that runs past its chart until it fits (down to 9 px), at any
# screen width and for every chart; checked once per frame after the page changes.
HEAD = """<script>
(() => {
  let queued = false;
  const fit = () => {
    queued = false;
    for (const title of document.querySelectorAll(".js-plotly-plot .gtitle")) {
      const chart = title.closest(".js-plotly-plot").getBoundingClientRect();
      let size = parseFloat(title.style.fontSize) || 14;
      while (chart.width > 0 && title.getBoundingClientRect().right > chart.right - 2 && size > 9) {
        size -= 1;
        title.style.fontSize = size + "px";
      }
    }
  };
  new MutationObserver(() => { if (!queued) { queued = true; requestAnimationFrame(fit); } })
    .observe(document.documentElement, { childList: true, subtree: true });
})();
</script>"""

# Everywhere: the holders of ui.sliders' script take no room. At phone width (issues #16, #24):
# - text fields and tables take the whole width instead of sharing a row (a table beside its CSV button had
#   room for three columns);
# - tables are set tighter (12 px, 3 px padding, headings that may wrap, no column menu button), so five
#   columns fit on the screen: "Top candidates" showed rank, token and id with its probabilities off-screen;
# - a chart's label sits above the chart, where plotly's toolbar (drawn over the chart's top edge) cannot cover it;
# - a dropdown's text stops short of its arrow, a little smaller, and ends in "…" when it is still too long;
# - the Train tab's buttons, status and curve come before its long form.
CSS = """
.pp-hidden { display: none !important; }
.enter-applies { display: none !important; }
@media (max-width: 640px) {
  .form > .block:has(textarea) { min-width: 100% !important; }
  .row > .block:has(.table-container) { min-width: 100% !important; }
  .table-container .cell-menu-button { display: none !important; }
  .table-container td { padding: 0 !important; }
  .table-container :is(th, td, .body-cell) .cell-wrap { padding: 3px !important; }
  .table-container :is(th, td, .body-cell) * { font-size: 12px !important; }
  .table-container th .header { white-space: normal !important; }
  .block:has(.js-plotly-plot) > label.float { position: static !important; }
  .wrap-inner:has(> .secondary-wrap > .icon-wrap) { padding-left: 8px !important; padding-right: 8px !important; }
  .secondary-wrap:has(> .icon-wrap) > input {
    padding-right: 28px !important; font-size: 12px !important; text-overflow: ellipsis;
  }
  .column:has(#tr-go) { order: -1; }
}
"""


def build_demo() -> gr.Blocks:
    # delete_cache: every hour, Gradio deletes the uploaded and generated files older than an hour
    with gr.Blocks(title="Pretraining Playground", delete_cache=(3600, 3600)) as demo:
        page = common.page_of(demo)  # what the tabs register while they are built: pickers and page loads
        gr.Markdown(INTRO)
        tour_panel = tour.build()
        tabs, on_loads = [], []
        with gr.Tabs(overflow_behavior="wrap") as tab_bar:  # on a phone the tabs wrap onto two rows, none behind "⋯"
            for title, module in TABS:
                with gr.Tab(title, id=title) as tab:
                    on_load = module.build()
                    if on_load:
                        on_loads.append(on_load)
                tabs.append(tab)
        by_id = {block.elem_id: block for block in demo.blocks.values() if getattr(block, "elem_id", None)}
        tour.wire(demo, tour_panel, tab_bar, by_id)  # the tour opens tabs with inputs set, and runs them
        pickers = [dropdown for dropdown, _ in page.pickers]
        refresh = common.picker_refresh(page)
        for tab in tabs:  # a model trained in one tab becomes a choice in the others
            tab.select(refresh, pickers, pickers, api_visibility="private", queue=False)
        # the workspace's token, kept (encrypted) in this browser's localStorage, so a reload finds the work again;
        # then every picker offers that workspace's models and keeps the model it shows
        workspace = gr.BrowserState(None, storage_key="playground-workspace")
        restored = demo.load(common.restore_workspace, workspace, workspace, api_visibility="private", queue=False)
        # (queued: only a queued event can show a toast, and this one says when a link's choice gave way)
        refreshed = restored.then(
            _refresh_after_restore(demo, workspace, refresh), pickers, pickers, api_visibility="private"
        )
        # Each tab's page load (its link's values, then its first result) runs after that refresh, one after
        # another (`then` goes on after a failure too): run beside each other, the refresh could put back a
        # picker's value from before the link set it, and a tab's load could land over the tour link's inputs.
        step = refreshed
        for fn, inputs, outputs, *js in [*((*on_load, None) for on_load in on_loads), *page.loads]:
            step = step.then(fn, inputs, outputs, api_visibility="private")
            if js[0]:
                step = step.then(None, None, None, js=js[0])
        demo.unload(_end_session)
    return demo


def _refresh_after_restore(
    demo: gr.Blocks, workspace: gr.BrowserState, refresh_pickers: Callable[..., list[dict[str, Any]]]
) -> Callable[..., list[dict[str, Any]]]:
    """The step after the restore: the token kept out of links, then every picker refreshed."""
    blank = _keep_out_of_links(demo, workspace)

    def refresh(request: gr.Request, *chosen: str) -> list[dict[str, Any]]:  # (gradio passes the request only
        blank(request)  # to a positional parameter)
        return refresh_pickers(request, *chosen)

    return refresh


def _keep_out_of_links(demo: gr.Blocks, workspace: gr.BrowserState) -> Callable[[gr.Request], None]:
    """A handler that blanks the workspace token in what Gradio's deep link copies.

    The deep link copies the last value of every component the page used, a BrowserState's included: left
    there, a copied link would carry this browser's workspace token, and whoever opened the link would join the
    sender's Session (their models, files and training). The browser's own localStorage keeps the token.
    Gradio has no public switch for this, so the handler edits its per-session copy of the page."""

    def blank(request: gr.Request) -> None:
        holder = getattr(getattr(demo, "server_app", None), "state_holder", None)
        if holder is None or not request.session_hash or request.session_hash not in holder:
            return
        saved = holder[request.session_hash].config_values.get(workspace._id)
        if saved and "props" in saved:
            saved["props"]["value"] = None

    return blank


def _end_session(request: gr.Request) -> None:
    """The page went (closed or reloading): its models and files wait a grace period for a reload, then go."""
    session.leave(common.session_id(request))

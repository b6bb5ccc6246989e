"""Where a live picture's milliseconds go, per model, along the path the studio takes.

    python benchmarks/picture_cost.py [--models rbm,vae,draw] [--repeats 20]

For each model (default: every one ``python -m engines list`` names), in one process, one thread
(as the display copy draws), on the engine's ``steady_overrides`` after a few training steps:

- ``share_ms``: the training side copying ``picture_state()`` into the shared tensors (training
  waits for this);
- ``load_ms``: the display copy loading it (in the pause);
- ``draw_ms``: ``frames()`` of the main view, once (a sampling view: one picture of its run);
- ``wire_ms`` / ``wire_kb``: the frames made uint8 and pickled for the pipe, and their size;
- ``receive_ms``: unpickling them in the GUI;
- ``show_ms``: the panel's ``show_frame`` (tiling, the image handed to pyqtgraph);
- ``paint_ms``: the panel's picture painted (offscreen, at 900x700).

``pause_ms`` = share + load + draw (what training waits for a picture of the state; a sampling
view's pictures after the first cost only draw), ``gui_ms`` = receive + show + paint. Medians of
``--repeats``. The last line printed is one JSON object: ``{model: {figure: value}}``.
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def median_ms(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def measure(model: str, repeats: int, app) -> dict:
    import torch

    from engines.core.frames import in_pixels
    from engines.registry import build_engine, engine_class
    from engines.live.training import join_state, split_state
    from studio.panels import create_panel
    from engines.live.protocol import Frames

    cls = engine_class(model)
    overrides = dict(cls.steady_overrides)
    trained = build_engine(model, None, "cpu", 0, overrides)
    for _ in range(5):
        trained.train_step()
    copy = build_engine(model, None, "cpu", 0, overrides)
    view = next(v for v in cls.views if v.area == "main")
    names = set(view.frames)

    tensors: list = []
    skeleton = split_state(trained.picture_state(), tensors)
    shared = [t.detach().cpu().clone().share_memory_() for t in tensors]

    def share():
        fresh: list = []
        split_state(trained.picture_state(), fresh)
        for target, tensor in zip(shared, fresh):
            target.copy_(tensor)

    def draw():
        copy.step += 1                     # a new step: nothing is taken from a cache
        return copy.frames(names)

    out = {"share_ms": median_ms(share, repeats),
           "load_ms": median_ms(lambda: copy.load_picture_state(join_state(skeleton, shared)), repeats),
           "draw_ms": median_ms(draw, repeats)}
    frames = draw()
    message = Frames([in_pixels(f) for f in frames])
    out["wire_ms"] = median_ms(lambda: pickle.dumps(Frames([in_pixels(f) for f in frames])), repeats)
    blob = pickle.dumps(message)
    out["wire_kb"] = len(blob) / 1024
    out["receive_ms"] = median_ms(lambda: pickle.loads(blob), repeats)
    received = pickle.loads(blob).frames

    panel = create_panel(view)
    panel.resize(900, 700)
    panel.show()
    app.processEvents()

    def show():
        for frame in received:
            panel.show_frame(frame)
    out["show_ms"] = median_ms(show, repeats)
    widget = (panel.picture_view.viewport() if panel.picture_view is not None else panel)

    def paint():
        show()
        widget.repaint()
    out["paint_ms"] = max(0.0, median_ms(paint, repeats) - out["show_ms"])
    panel.close()
    out["pause_ms"] = out["share_ms"] + out["load_ms"] + out["draw_ms"]
    out["gui_ms"] = out["receive_ms"] + out["show_ms"] + out["paint_ms"]
    out["motion"] = view.motion
    torch.set_num_threads(1)
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default=None, help="comma-separated (default: every registered model)")
    p.add_argument("--repeats", type=int, default=20)
    args = p.parse_args(argv)
    import torch
    from PySide6 import QtWidgets

    from engines.registry import models
    from studio.theme import apply_theme

    torch.set_num_threads(1)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    apply_theme(app)
    chosen = args.models.split(",") if args.models else list(models())
    result = {}
    for model in chosen:
        result[model] = measure(model, args.repeats, app)
        r = result[model]
        print(f"{model:10s} pause {r['pause_ms']:7.2f} ms (share {r['share_ms']:.2f}, load {r['load_ms']:.2f}, "
              f"draw {r['draw_ms']:.2f})   wire {r['wire_ms']:.2f} ms {r['wire_kb']:.0f} kB   gui {r['gui_ms']:.2f} ms "
              f"(receive {r['receive_ms']:.2f}, show {r['show_ms']:.2f}, paint {r['paint_ms']:.2f})", flush=True)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

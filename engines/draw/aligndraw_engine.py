"""The ``aligndraw`` engine: images from captions (Mansimov et al. 2015) on ``mnist-captions``,
trained on the slide's bound, evaluated on held-out captions and on novel compositions. The model
and its equations are in ``aligndraw_model.py``; training, scalars and checkpoints are DRAW's
(:class:`~engines.draw.engine.DrawingEngine`)."""
from __future__ import annotations

import numpy as np
import torch

from engines.core.distributed import rows
from engines.core.engine import bernoulli, epoch_position, wants
from engines.core.frames import image_array
from engines.data import load_dataset
from engines.data.base import DataError
from engines.data.captions import VOCABULARY, CaptionDataset, encode, novel_captions, split_words
from engines.draw.aligndraw_model import AlignDRAW
from engines.draw.engine import DrawingEngine
from engines.draw.frames import CaptionTrace
from engines.draw.model import Trace
from engines.draw.spec import ALIGNDRAW_SPEC, AlignDRAWConfig

# Shown while training, each from fixed noise: two compositions seen in training, two held out.
FIXED_CAPTIONS = (
    "the digit 3 is on the left of the digit 7",
    "the digit 6 is at the bottom right of the image",
    "the digit 5 is on the left of the digit 8",
    "the digit 1 is at the top left of the image",
)
EXAMPLE = FIXED_CAPTIONS[0]


class CaptionBatches:
    """Shuffled minibatches of the captioned training set, the set composed afresh every epoch
    (``CaptionDataset.epoch``: a function of the dataset's seed and the epoch's index). Under
    torchrun each rank draws from its shard (:func:`engines.core.distributed.rows`)."""

    def __init__(self, data: CaptionDataset, device: torch.device, rng: np.random.Generator):
        self.data, self.device, self.rng = data, device, rng
        self.rows = rows(len(data.train))
        self.epoch, self.order, self.pos = -1, np.empty(0, dtype=np.int64), 0
        self._loaded: int | None = None

    def next(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        n = len(self.rows)
        batch_size = min(batch_size, n)
        if self.pos + batch_size > len(self.order):
            self.epoch, self.order, self.pos = self.epoch + 1, self.rng.permutation(n), 0
        if self._loaded != self.epoch:
            images, tokens = self.data.epoch(self.epoch)
            self.images = torch.from_numpy(images).to(self.device)
            self.tokens = torch.from_numpy(tokens).to(self.device)
            self._loaded = self.epoch
        idx = torch.from_numpy(self.rows[self.order[self.pos:self.pos + batch_size]]).to(self.device)
        self.pos += batch_size
        return self.images[idx], self.tokens[idx]

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "order": torch.from_numpy(self.order.copy()), "pos": self.pos}

    def load_state_dict(self, state: dict) -> None:
        """Where training was; the epoch's images are composed again when next needed."""
        self.epoch = int(state["epoch"])
        self.order, self.pos = epoch_position(state, len(self.rows))


class AlignDRAWEngine(DrawingEngine):
    spec = ALIGNDRAW_SPEC
    smoke_data = "mnist-captions"
    smoke_overrides = {"T": 2, "enc_size": 16, "dec_size": 16, "z_size": 4, "read_n": 2, "write_n": 3,
                       "embed_size": 8, "lang_size": 8, "align_size": 8, "batch_size": 16, "samples_per_caption": 1}

    @classmethod
    def load_data(cls, spec: str, config) -> CaptionDataset:
        if spec.partition(":")[0] != "mnist-captions":
            raise DataError(f"aligndraw trains on captioned images: use --data mnist-captions "
                            f"(or mnist-captions:SEED), not '{spec}'")
        return load_dataset(spec)

    def __init__(self, config: AlignDRAWConfig, data: CaptionDataset, device, seed: int = 0):
        super().__init__(config, data, device, seed)
        model = self.build_model(lambda: AlignDRAW(data.shape, len(VOCABULARY), config.T, config.enc_size,
                                                   config.dec_size, config.z_size, config.read_n, config.write_n,
                                                   config.embed_size, config.lang_size, config.align_size))
        self.setup(model, CaptionBatches(data, device, self.rng))

        def tensor(array):
            return torch.from_numpy(array).to(device)
        self.test = (tensor(data.test_binary), tensor(data.test_tokens))
        self.novel = (tensor(data.novel_binary), tensor(data.novel_tokens))
        # Display state: fixed noise per shown row (the typed caption, then FIXED_CAPTIONS) and
        # sample, from a generator of its own; the caption the user typed (display copy only).
        display = torch.Generator(device=device).manual_seed(seed + 2)
        rows = 1 + len(FIXED_CAPTIONS)
        self.display_noise = torch.randn(config.T, rows, config.samples_per_caption, config.z_size,
                                         generator=display, device=device)
        self.typed: tuple[str, list[int], list[str]] | None = None

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        images, tokens = self.batches.next(self.config.batch_size)
        return bernoulli(images, self.generator), tokens

    # ------------------------------------------------------------------------------ captions
    def set_caption(self, text: str) -> list[str]:
        """Draw ``text`` from now on (display copy): returns its words outside the vocabulary,
        which are left out (the frame marks them). ValueError when no word is left to draw."""
        if not isinstance(text, str) or not split_words(text):
            raise ValueError(f"the caption is empty: type a sentence such as '{EXAMPLE}'")
        tokens, unknown = encode(text)
        if not tokens:
            raise ValueError(f"none of the words of '{text.strip()}' is in the vocabulary "
                             f"({' '.join(VOCABULARY)})")
        self.typed = (text.strip(), tokens, unknown)
        return unknown

    # ------------------------------------------------------------------------------ frames
    @torch.no_grad()
    def frames(self, wanted=None):
        return [self.caption_trace()] if wants(wanted, "captions") else []

    def caption_trace(self) -> CaptionTrace:
        """Each shown caption drawn ``samples_per_caption`` times from fixed noise, step by step,
        with the write windows and the alignment over its words; the typed caption first."""
        rows = ([(self.typed[0], self.typed[1], 0)] if self.typed else []) + \
            [(c, encode(c)[0], 1 + i) for i, c in enumerate(FIXED_CAPTIONS)]
        k = self.config.samples_per_caption
        length = max(len(tokens) for _, tokens, _ in rows)
        canvases, writes, alignments = [], [], []
        for _, tokens, noise_row in rows:
            trace = Trace()
            ids = torch.tensor(tokens, device=self.device).expand(k, -1)
            _, alpha = self.model.generate(ids, self.display_noise[:, noise_row], trace)
            canvases.append(Trace.stacked(trace.canvases))
            writes.append(Trace.stacked(trace.write))
            alignments.append(torch.nn.functional.pad(alpha, (0, length - len(tokens))))
        canvases = torch.cat(canvases)
        images = image_array(canvases.flatten(0, 1), self.data.shape).reshape(*canvases.shape[:2], *self.data.shape[1:])
        return CaptionTrace(
            "captions", self.step, images, torch.cat(writes).cpu().numpy().copy(),
            torch.cat(alignments).cpu().numpy().copy(),
            captions=tuple(text for text, _, _ in rows),
            words=tuple(tuple(VOCABULARY[i] for i in tokens) for _, tokens, _ in rows),
            vocabulary=VOCABULARY, unknown=tuple(self.typed[2]) if self.typed else (),
            suggestions=tuple(novel_captions()), typed=self.typed is not None, write_n=self.config.write_n,
            columns=k)

    # ------------------------------------------------------------------------------ evaluation
    def evaluate(self) -> dict[str, float]:
        """The bound (nats per image) on held-out images of compositions seen in training, and on
        novel compositions (pairs of digit and layout never trained on)."""
        seen, novel = self.bound_on(*self.test), self.bound_on(*self.novel)
        return {**seen, "nll_bound_novel": novel["nll_bound"], "recon_novel": novel["recon"], "kl_novel": novel["kl"]}

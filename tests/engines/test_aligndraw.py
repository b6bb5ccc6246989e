"""alignDRAW: the mnist-captions data (seeded, novel compositions held out), the alignment, the
training loss, the typed caption's checks, frames and evaluation."""
import re

import numpy as np
import pytest
import torch

from engines.data import load_dataset
from engines.data.base import DataError
from engines.data.captions import LAYOUTS, VOCABULARY, decode, held_out, novel_captions
from engines.draw.aligndraw_engine import FIXED_CAPTIONS
from engines.draw.frames import CaptionTrace
from engines.registry import build_engine
from tests.engines.training import bound_before_and_after

SMALL = {"T": 3, "enc_size": 24, "dec_size": 24, "z_size": 6, "read_n": 3, "write_n": 4, "embed_size": 8,
         "lang_size": 12, "align_size": 16, "batch_size": 16, "samples_per_caption": 2}
PATTERNS = [re.compile("^" + template.format(a=r"(\d)", b=r"\d") + "$") for _, template, _, _ in LAYOUTS]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models: one thread is faster, and fair to a shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def captions():
    return load_dataset("mnist-captions")


def compositions(tokens: np.ndarray) -> set[tuple[int, int]]:
    """(digit A, layout) of each caption, read back from its words."""
    out = set()
    for row in tokens:
        text = decode(row)
        matches = [(int(m.group(1)), k) for k, p in enumerate(PATTERNS) if (m := p.match(text))]
        assert len(matches) == 1, text
        out.add(matches[0])
    return out


@pytest.fixture
def aligndraw():
    def make(seed=0, **overrides):
        return build_engine("aligndraw", None, "cpu", seed, {**SMALL, **overrides})
    return make


# ---------------------------------------------------------------------------------- data
def test_captions_and_canvases_are_deterministic_from_the_seed(captions):
    again, other = load_dataset("mnist-captions:0"), load_dataset("mnist-captions:1")
    for name in ("train", "train_tokens", "test", "test_tokens", "novel", "novel_tokens"):
        assert np.array_equal(getattr(captions, name), getattr(again, name)), name
        assert not np.array_equal(getattr(captions, name), getattr(other, name)), name
    for a, b in zip(captions.epoch(2), again.epoch(2), strict=True):
        assert np.array_equal(a, b)
    assert not np.array_equal(captions.epoch(1)[0], captions.epoch(2)[0])      # a new set every epoch
    assert captions.train.shape == (4500, 1, 60, 60) and captions.train_tokens.shape == (4500, 11)
    assert len(VOCABULARY) == 21 and captions.train_tokens.max() < 21


def test_no_held_out_combination_appears_in_training(captions):
    held = {(a, k) for a in range(10) for k in range(len(LAYOUTS)) if held_out(a, k)}
    assert len(held) == 16
    for epoch in range(3):
        seen = compositions(captions.epoch(epoch)[1])
        assert not seen & held and len(seen) == 80 - 16
    assert not compositions(captions.test_tokens) & held
    assert compositions(captions.novel_tokens) == held
    assert compositions(np.array([[VOCABULARY.index(w) for w in c.split()] for c in novel_captions()])) == held
    assert [held_out(*next(iter(compositions(np.array([[VOCABULARY.index(w) for w in c.split()]])))))
            for c in FIXED_CAPTIONS] == [False, False, True, True]


def test_the_caption_says_where_the_digits_are(captions):
    """Ink in the named corner, or on the named side, and hardly anywhere else."""
    images, tokens = captions.test[:, 0], captions.test_tokens
    for image, row in zip(images[:200], tokens[:200], strict=True):
        text = decode(row)
        if "top left" in text:
            assert image[:30, :32].sum() > 0.9 * image.sum()
        elif "bottom right" in text:
            assert image[30:, 28:].sum() > 0.9 * image.sum()
        elif "on the left of" in text:
            assert image[16:46].sum() > 0.99 * image.sum()
            assert image[:, :28].sum() > 5 and image[:, 32:].sum() > 5        # A on the left, B on the right


def test_aligndraw_wants_captioned_data():
    with pytest.raises(DataError, match="mnist-captions"):
        build_engine("aligndraw", "mnist", "cpu", 0, SMALL)


# ---------------------------------------------------------------------------------- engine
def test_the_loss_is_finite_and_falls_over_50_steps(aligndraw):
    engine = aligndraw(seed=1, lr=3e-3)
    first, last = bound_before_and_after(engine)
    assert np.isfinite(first + last).all()
    assert np.mean(last) < np.mean(first) - 200, (first, last)
    assert set(engine.monitor()) == {"kl_t1", "kl_t2", "kl_t3"}


def test_the_alignment_sums_to_one_over_the_words(aligndraw):
    engine = aligndraw()
    tokens = torch.tensor([[VOCABULARY.index(w) for w in FIXED_CAPTIONS[0].split()]] * 4)
    noise = torch.randn(3, 4, 6)
    from engines.draw.model import Trace
    images, alignment = engine.model.generate(tokens, noise, Trace())
    assert images.shape == (4, 1, 60, 60) and alignment.shape == (4, 3, 11)
    torch.testing.assert_close(alignment.sum(-1), torch.ones(4, 3))
    assert (alignment >= 0).all()
    trace = engine.frames()[0]
    np.testing.assert_allclose(trace.alignment.sum(-1), 1, rtol=1e-5)


def test_first_step_prior_is_standard_and_later_ones_learned(aligndraw):
    """KL(q_1 ‖ N(0, I)) at t = 1, KL(q_t ‖ p(z_t | z_<t, y)) with tanh-bounded μ, log σ after."""
    engine = aligndraw()
    mu, log_sigma = engine.model.prior_at(torch.randn(5, 24) * 100)
    assert mu.abs().max() <= 1 and log_sigma.abs().max() <= 1


def test_an_unknown_word_or_an_empty_caption_gets_a_clear_message(aligndraw):
    engine = aligndraw()
    with pytest.raises(ValueError, match="empty"):
        engine.set_caption("   ")
    with pytest.raises(ValueError, match="none of the words"):
        engine.set_caption("zebra crossing")
    assert engine.set_caption("The digit 4 is at the TOP of the digit zebra 2!") == ["zebra"]
    trace = engine.frames()[0]
    assert isinstance(trace, CaptionTrace) and trace.typed and trace.unknown == ("zebra",)
    assert trace.words[0] == tuple("the digit 4 is at the top of the digit 2".split())
    assert trace.captions[1:] == FIXED_CAPTIONS and len(trace.captions) == 5
    assert trace.canvases.shape == (10, 3, 60, 60) and trace.write.shape == (10, 3, 5)
    assert trace.alignment.shape == (10, 3, 11)
    assert len(trace.animation()) == 3 and trace.still().ndim == 3
    assert set(trace.suggestions) == set(novel_captions())


def test_evaluate_reports_seen_and_novel_bounds(aligndraw):
    metrics = aligndraw(T=2).evaluate()
    assert {"nll_bound", "nll_bound_novel"} <= set(metrics)
    assert all(np.isfinite(v) and v > 0 for v in metrics.values())


def test_batches_compose_a_new_training_set_every_epoch(aligndraw, captions):
    batches = aligndraw().batches
    images, tokens = batches.next(4000)
    assert batches.epoch == 0 and images.shape == (4000, 1, 60, 60) and tokens.shape == (4000, 11)
    batches.next(4000)                                   # 500 left: a new epoch starts
    assert batches.epoch == 1 and not torch.equal(batches.images, torch.from_numpy(captions.train))
    np.testing.assert_array_equal(batches.images.numpy(), captions.epoch(1)[0])

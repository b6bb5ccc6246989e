"""alignDRAW (Mansimov et al. 2015): DRAW conditioned on a caption through an alignment over its
words, as an ``nn.Module``. The reader, writer, Gaussian heads, KL and likelihood are DRAW's
(``model.py``); read and write always go through the Gaussian attention of ``attention.py``.

Caption y = (y_1..y_L): word embeddings through a bidirectional LSTM give ``h_lang_k`` (forward
and backward states concatenated). For t = 1..T, from a zero canvas and zero LSTM states::

    α_t^k  = softmax_k( vᵀ tanh(U h_lang_k + W h_gen_{t−1} + b) )       (the alignment)
    s_t    = Σ_k α_t^k h_lang_k                                           (the sentence context)
    x̂_t   = x − σ(c_{t−1});   r_t = read(x, x̂_t, h_gen_{t−1})
    h_inf_t = LSTM_inf(h_inf_{t−1}, [r_t, h_gen_{t−1}])
    q(z_t | x, y, z_<t) = N(μ(h_inf_t), σ(h_inf_t))
    p(z_t | y, z_<t)   = N(μ_t, σ_t), μ_t = tanh(W_μ h_gen_{t−1}), log σ_t = tanh(W_σ h_gen_{t−1})   (t ≥ 2)
    p(z_1) = N(0, I)
    h_gen_t = LSTM_gen(h_gen_{t−1}, [z_t, s_t]);   c_t = c_{t−1} + write(h_gen_t)

Loss (the negative of the slide's bound L, nats per image) =
``−log p(x | y, z_1:T) + Σ_{t≥2} KL(q_t ‖ p_t) + KL(q_1 ‖ N(0, I))``, with a Bernoulli ``p(x | c_T)``.
Generation samples z_t from the learned prior instead of q.
"""
from __future__ import annotations

import torch
from torch import nn

from engines.draw.model import Gaussian, Likelihood, Reader, Trace, Writer, kl_normal


class CaptionEncoder(nn.Module):
    """Word embeddings through a bidirectional LSTM: tokens (batch, L) -> h_lang (batch, L, 2·size)."""

    def __init__(self, vocabulary: int, embed_size: int, size: int):
        super().__init__()
        self.embed = nn.Embedding(vocabulary, embed_size)
        self.lstm = nn.LSTM(embed_size, size, batch_first=True, bidirectional=True)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.lstm(self.embed(tokens))[0]


class Alignment(nn.Module):
    """``α_t^k = softmax_k(vᵀ tanh(U h_lang_k + W h_gen + b))`` and ``s_t = Σ_k α_t^k h_lang_k``.
    ``U h_lang`` is computed once per caption (:meth:`keys`)."""

    def __init__(self, lang_size: int, dec_size: int, size: int):
        super().__init__()
        self.U = nn.Linear(lang_size, size, bias=False)
        self.W = nn.Linear(dec_size, size)
        self.v = nn.Linear(size, 1, bias=False)

    def keys(self, h_lang: torch.Tensor) -> torch.Tensor:
        return self.U(h_lang)

    def forward(self, keys: torch.Tensor, h_lang: torch.Tensor, h_gen: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """(context s (batch, lang_size), alignment α (batch, L))."""
        alpha = torch.softmax(self.v(torch.tanh(keys + self.W(h_gen).unsqueeze(1))).squeeze(-1), dim=-1)
        return (alpha.unsqueeze(-1) * h_lang).sum(1), alpha


class AlignDRAW(nn.Module):
    """DRAW with a caption: see the module docstring for the equations."""

    def __init__(self, shape: tuple[int, int, int], vocabulary: int, steps: int, enc_size: int, dec_size: int,
                 z_size: int, read_n: int, write_n: int, embed_size: int, lang_size: int, align_size: int):
        super().__init__()
        self.shape, self.steps, self.z_size = shape, steps, z_size
        self.enc_size, self.dec_size = enc_size, dec_size
        self.caption = CaptionEncoder(vocabulary, embed_size, lang_size)
        self.align = Alignment(2 * lang_size, dec_size, align_size)
        self.reader = Reader(shape, dec_size, read_n, True)
        self.encoder = nn.LSTMCell(self.reader.size + dec_size, enc_size)
        self.posterior = Gaussian(enc_size, z_size)
        self.prior = Gaussian(dec_size, z_size)
        self.decoder = nn.LSTMCell(z_size + 2 * lang_size, dec_size)
        self.writer = Writer(shape, dec_size, write_n, True)
        self.likelihood = Likelihood("bernoulli", shape[0])

    def prior_at(self, h_gen: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``μ = tanh(W_μ h_gen)``, ``log σ = tanh(W_σ h_gen)``."""
        mu, log_sigma = self.prior(h_gen)
        return torch.tanh(mu), torch.tanh(log_sigma)

    def _generator_step(self, z, keys, h_lang, h_gen, c_gen, canvas, trace: Trace | None, alignments: list | None):
        context, alpha = self.align(keys, h_lang, h_gen)
        h_gen, c_gen = self.decoder(torch.cat([z, context], dim=1), (h_gen, c_gen))
        update, write_win = self.writer(h_gen)
        canvas = canvas + update
        if trace is not None:
            trace.add(canvas, write_win)
            alignments.append(alpha)
        return h_gen, c_gen, canvas

    def forward(self, x: torch.Tensor, tokens: torch.Tensor, noise: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Images x (batch, C, H, W) with captions (batch, L) and posterior noise ε (T, batch, z):
        the reconstruction term (batch,) and each step's KL (T, batch)."""
        batch = x.shape[0]
        h_lang = self.caption(tokens)
        keys = self.align.keys(h_lang)
        h_enc = c_enc = x.new_zeros(batch, self.enc_size)
        h_gen = c_gen = x.new_zeros(batch, self.dec_size)
        canvas = torch.zeros_like(x)
        kls = []
        for t in range(self.steps):
            x_hat = x - torch.sigmoid(canvas)
            r, _ = self.reader(x, x_hat, h_gen)
            h_enc, c_enc = self.encoder(torch.cat([r, h_gen], dim=1), (h_enc, c_enc))
            mu, log_sigma = self.posterior(h_enc)
            kls.append(kl_normal(mu, log_sigma) if t == 0 else kl_normal(mu, log_sigma, *self.prior_at(h_gen)))
            z = mu + log_sigma.exp() * noise[t]
            h_gen, c_gen, canvas = self._generator_step(z, keys, h_lang, h_gen, c_gen, canvas, None, None)
        return self.likelihood(canvas, x), torch.stack(kls)

    def generate(self, tokens: torch.Tensor, noise: torch.Tensor, trace: Trace | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Images for captions (batch, L) with prior noise ε (T, batch, z): z_1 = ε_1,
        z_t = μ_t + σ_t·ε_t. Returns σ(c_T) and, with a trace, the alignments (batch, T, L)."""
        batch = tokens.shape[0]
        h_lang = self.caption(tokens)
        keys = self.align.keys(h_lang)
        h_gen = c_gen = noise.new_zeros(batch, self.dec_size)
        canvas = noise.new_zeros(batch, *self.shape)
        alignments = [] if trace is not None else None
        for t in range(self.steps):
            if t == 0:
                z = noise[0]
            else:
                mu, log_sigma = self.prior_at(h_gen)
                z = mu + log_sigma.exp() * noise[t]
            h_gen, c_gen, canvas = self._generator_step(z, keys, h_lang, h_gen, c_gen, canvas, trace, alignments)
        return torch.sigmoid(canvas), (torch.stack(alignments, dim=1) if alignments is not None else None)

"""Sample-quality metrics shared by the generative families: a digit classifier trained by the
project (its features give a Fréchet distance, its predictions a class spread) and a Parzen-window
log-likelihood (Goodfellow et al. 2014). See :mod:`engines.metrics.classifier` and
:mod:`engines.metrics.distances`."""

"""A live run in the studio, without Qt: the messages between the window and its two child
processes (:mod:`~engines.live.protocol`), the training process (:mod:`~engines.live.training`)
and the display process that draws the live pictures (:mod:`~engines.live.display`). Importing
these modules imports neither Qt nor torch; the child processes import torch when they start."""

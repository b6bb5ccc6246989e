"""Recorded runs, without Qt or torch: a run's frames and scalars for a timeline
(:mod:`~engines.records.replay`), the index of a runs folder (:mod:`~engines.records.run_index`),
and exports of a run as GIF, MP4, PNG (:mod:`~engines.records.export`) or TensorBoard event files
(:mod:`~engines.records.tensorboard`, which imports torch's writer when it runs)."""

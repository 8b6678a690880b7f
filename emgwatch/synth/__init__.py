"""Synthetic surface EMG with ground truth: the lab for everything in emgwatch.

``stream(scenario, duration_s, fs, seed, **params)`` plans a recording (truth first) and renders
it chunk by chunk; ``simulate(...)`` collects it into a :class:`~emgwatch.recording.Recording`.
See docs/GENERATOR.md for the model and its ranges.
"""

from emgwatch.synth.scenarios import SCENARIOS
from emgwatch.synth.stream import SynthStream, simulate, stream

__all__ = ["SCENARIOS", "SynthStream", "simulate", "stream"]

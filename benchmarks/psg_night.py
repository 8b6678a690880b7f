"""A generated night rebuilt as a sleep study, to measure `detect` on polysomnography files.

The night's leg EMG is resampled to 256 Hz (``LLEG``) and written beside an EEG at 256 Hz
and SpO2 at 1 Hz, as a clinic's EDF+ holds them. The true leg movements become a scorer's
``Limb Movement (Left)`` annotations, and a hypnogram of 30-s epochs is added: awake for the
first half hour, ``Sleep stage 2`` after. Then ``emgwatch detect`` reads the leg channel,
``emgwatch evaluate --truth-from-annotations`` scores against the movements, and the PLM index
per hour of sleep comes from the hypnogram (docs/FORMATS.md; benchmarks/RESULTS.md).

    .venv/bin/emgwatch simulate --scenario night --duration 8h --fs 1000 --seed 1 -o night.edf
    .venv/bin/python benchmarks/psg_night.py night.edf psg.edf
    .venv/bin/emgwatch detect psg.edf --context sleep

With ``--nsrr`` the scoring goes into ``<psg>-nsrr.xml`` beside a signal-only EDF, as the NSRR
archives ship their studies, for ``emgwatch detect psg.edf --annotations psg-nsrr.xml``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import edfio
import numpy as np
from scipy.signal import resample_poly

from emgwatch.domain import ADC_MIDRAIL
from emgwatch.recording import read_recording
from emgwatch.synth.output import truth_path_for
from emgwatch.truth import load_truth

FS = 256
UV_PER_COUNT = 4.9  # a 10-bit ADC over 5 V at unit gain, roughly


def main(src: str, out: str, nsrr: bool = False) -> None:
    rec = read_recording(src)
    truth = load_truth(truth_path_for(src))
    leg = rec.data[:, 0] - (ADC_MIDRAIL if rec.units == "adc" else np.median(rec.data[:, 0]))
    leg = resample_poly(leg, FS, int(rec.fs)) * (UV_PER_COUNT if rec.units == "adc" else 1.0)
    n = len(leg)
    eeg = np.random.default_rng(0).normal(0, 20, n)
    spo2 = np.full(n // FS, 96.0)
    epochs = np.arange(0.0, n / FS - 30.0, 30.0)
    anns = [
        edfio.EdfAnnotation(float(t), 30.0, "Sleep stage W" if t < 1800 else "Sleep stage 2")
        for t in epochs
    ]
    movements = [e for e in truth.episodes if e.kind == "plm"]
    anns += [
        edfio.EdfAnnotation(e.start, e.end - e.start, "Limb Movement (Left)") for e in movements
    ]
    signals = [
        edfio.EdfSignal(eeg, FS, label="EEG C3-A2", physical_dimension="uV"),
        edfio.EdfSignal(leg, FS, label="LLEG", physical_dimension="uV"),
        edfio.EdfSignal(spo2, 1, label="SpO2", physical_dimension="%"),
    ]
    anns.sort(key=lambda a: a.onset)
    edfio.Edf(signals, annotations=[] if nsrr else anns).write(out)
    where = "in its annotations"
    if nsrr:
        xml = Path(out).with_name(Path(out).stem + "-nsrr.xml")
        xml.write_text(nsrr_xml(anns))
        where = f"in {xml}"
    print(
        f"wrote {out}: {n / FS / 3600:.1f} h, LLEG at {FS} Hz beside EEG and SpO2, "
        f"{len(movements)} scored leg movements, {len(epochs)} scored epochs {where}"
    )


def nsrr_xml(anns: list) -> str:
    """The scoring as NSRR's XML writes it: stages and limb movements as ``name|code``."""
    rows = []
    for a in anns:
        if a.text.startswith("Sleep stage"):
            kind, concept = "Stages|Stages", "Wake|0" if a.text.endswith("W") else "Stage 2 sleep|2"
        else:
            kind, concept = (
                "Limb Movement|Limb Movement",
                "Limb Movement (Left)|Limb Movement (Left)",
            )
        rows.append(
            f"<ScoredEvent><EventType>{kind}</EventType><EventConcept>{concept}</EventConcept>"
            f"<Start>{a.onset}</Start><Duration>{a.duration}</Duration>"
            + ("" if kind.startswith("Stages") else "<SignalLocation>L Leg</SignalLocation>")
            + "</ScoredEvent>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n<PSGAnnotation>\n'
        "<SoftwareVersion>Compumedics</SoftwareVersion>\n<EpochLength>30</EpochLength>\n"
        "<ScoredEvents>\n" + "\n".join(rows) + "\n</ScoredEvents>\n</PSGAnnotation>\n"
    )


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--nsrr"]
    main(args[0], args[1], nsrr="--nsrr" in sys.argv[1:])

"""The generator as a stream: determinism, chunking, files, ADC behaviour and bad input."""

import numpy as np
import pytest

from emgwatch.domain import ADC_MAX, ADC_MIDRAIL
from emgwatch.errors import UsageError
from emgwatch.recording import read_recording
from emgwatch.synth import simulate, stream
from emgwatch.synth.output import truth_path_for, write_stream
from emgwatch.truth import load_truth, save_truth


def _collect(s, n):
    return np.concatenate(list(s.chunks(n)))


def test_same_seed_gives_identical_samples_and_truth():
    a, ta = simulate("mixed", 120, 1000, 5, channels=2)
    b, tb = simulate("mixed", 120, 1000, 5, channels=2)
    assert np.array_equal(a.data, b.data)
    assert ta.to_dict() == tb.to_dict()
    c, tc = simulate("mixed", 120, 1000, 6, channels=2)
    assert not np.array_equal(a.data, c.data)
    assert ta.to_dict()["episodes"] != tc.to_dict()["episodes"]


def test_chunk_size_does_not_change_the_samples():
    s = stream("daily", 150, 2000, 3, channels=2)
    ref = _collect(s, 4096)
    for n in (1, 777, 50_000, 10**7):
        if n == 1:
            got = _collect(stream("daily", 3, 2000, 3, channels=2), 1)
            assert np.array_equal(got, _collect(stream("daily", 3, 2000, 3, channels=2), 999))
            continue
        assert np.array_equal(_collect(s, n), ref), n
    assert ref.shape == (300_000, 2)


def test_truth_is_planned_before_any_sample_is_rendered():
    s = stream("night", 1800, 1000, 7)
    planned = [e.to_dict() for e in s.truth.episodes]
    assert planned
    for _ in s.chunks(100_000):
        pass
    assert [e.to_dict() for e in s.truth.episodes] == planned


def test_blocks_carry_consecutive_times():
    s = stream("exercise", 10, 500, 1)
    blocks = list(s.blocks(0.5))
    assert [b.t0 for b in blocks[:3]] == [0.0, 0.5, 1.0]
    assert sum(b.n_samples for b in blocks) == 5000


def test_adc_output_is_10_bit_integers_around_mid_rail():
    rec, truth = simulate("exercise", 300, 1000, 2, gain=1.0)
    x = rec.data[:, 0]
    assert rec.units == "adc"
    assert np.all(x == np.round(x)) and x.min() >= 0 and x.max() <= ADC_MAX
    assert abs(np.median(x) - ADC_MIDRAIL) < 60


def test_high_gain_clips_at_the_rails_and_truth_says_so():
    rec, truth = simulate("mixed", 300, 1000, 3, gain=10.0, lead_off=False)
    x = rec.data[:, 0]
    assert (x == 0).sum() > 10 and (x == ADC_MAX).sum() > 10
    clips = [a for a in truth.artifacts if a.kind == "clipping"]
    assert clips
    for a in clips[:20]:
        seg = x[int(a.start * 1000) : int(np.ceil(a.end * 1000))]
        assert ((seg == 0) | (seg == ADC_MAX)).any()


def test_low_gain_quantises_rest_to_a_few_levels():
    quiet = dict(lead_off=False, motion_artifacts=False, pops=False, wander=False)
    rec, truth = simulate("night", 300, 1000, 4, gain=0.1, **quiet)
    busy = np.zeros(rec.n_samples, bool)
    for e in truth.episodes:
        busy[int((e.start - 1) * 1000) : int((e.end + 1) * 1000)] = True
    rest = rec.data[~busy, 0]
    assert len(rest) > 60_000
    levels = [len(np.unique(rest[i : i + 10_000])) for i in range(0, len(rest) - 10_000, 10_000)]
    assert np.median(levels) <= 12


def test_envelope_boards_rest_from_right_at_0_v_to_well_above_it():
    """A third of envelope boards sit at 0 V, where the rectified noise alone is the resting
    output; without them the classifier only knew levels compressed by an offset."""
    from emgwatch.synth.artifacts import draw_front_end

    rng = np.random.default_rng(7)
    offsets = np.array([draw_front_end(rng, "envelope", True, 1.0).offset for _ in range(3000)])
    assert 0.28 < (offsets < 1.0).mean() < 0.39
    assert offsets.min() >= 0.0 and offsets.max() <= 40.0
    assert ((offsets >= 1.0) & (offsets < 2.0)).mean() < 0.01  # the rest start at 2 counts
    rec, _ = simulate("night", 120, 1000, 4, sensor="envelope")
    assert rec.data.min() >= 0.0


def test_no_adc_gives_unquantised_microvolts():
    rec, _ = simulate("night", 30, 1000, 4, adc=False)
    assert rec.units == "uV"
    assert len(np.unique(rec.data[:, 0])) > 10_000


def test_lead_off_spans_are_flat_or_railed_or_floating():
    seen = set()
    for seed in range(40):
        s = stream("mixed", 600, 500, seed, lead_off_per_h=6, motion_artifacts=False, pops=False)
        if not s._lead_offs:
            continue
        x = _collect(s, 10**6)
        for lo in s._lead_offs:
            seg = x[int(lo.start * 500) + 1 : int(lo.end * 500) - 1, lo.channel]
            if lo.mode in ("flat", "rail_high", "rail_low"):
                assert np.ptp(seg) == 0
            else:
                assert np.ptp(seg) > 100
            seen.add(lo.mode)
        if len(seen) == 4:
            break
    assert len(seen) >= 3


def test_turnovers_involve_several_channels_with_motion():
    _, truth = simulate("night", 3 * 3600, 500, 8, channels=3, turnover_per_h=10)
    turns = [e for e in truth.episodes if e.kind == "turnover"]
    starts = {}
    for e in turns:
        starts.setdefault(round(e.start), set()).add(e.channel)
    assert max(len(c) for c in starts.values()) >= 2
    assert any(a.kind == "motion" for a in truth.artifacts)


def test_edf_round_trip_keeps_samples_and_annotations(tmp_path):
    s = stream("mixed", 300, 1000, 9, channels=2)
    path = tmp_path / "m.edf"
    write_stream(path, s)
    save_truth(truth_path_for(path), s.truth)
    rec = read_recording(path)
    ref, truth = simulate("mixed", 300, 1000, 9, channels=2)
    assert rec.fs == 1000 and rec.channel_names == ["ch1", "ch2"]
    assert np.array_equal(rec.data, ref.data)
    got = sorted((round(a.onset, 2), a.description, a.channel) for a in rec.annotations)
    want = sorted((round(a.onset, 2), a.description, a.channel) for a in truth.annotations())
    assert len(got) == len(want)
    assert all(abs(g[0] - w[0]) <= 0.011 and g[1:] == w[1:] for g, w in zip(got, want, strict=True))
    assert load_truth(tmp_path / "m.truth.json").to_dict() == truth.to_dict()


def test_edf_of_microvolts_is_within_16_bit_resolution(tmp_path):
    s = stream("exercise", 120, 2000, 2, adc=False)
    write_stream(tmp_path / "u.edf", s)
    rec = read_recording(tmp_path / "u.edf")
    ref, _ = simulate("exercise", 120, 2000, 2, adc=False)
    assert rec.units == "uV"
    assert np.abs(rec.data - ref.data).max() <= np.ptp(ref.data) / 65535 * 1.01


def test_csv_round_trip(tmp_path):
    s = stream("daily", 60, 500, 1)
    write_stream(tmp_path / "d.csv", s)
    rec = read_recording(tmp_path / "d.csv")
    ref, truth = simulate("daily", 60, 500, 1)
    assert np.array_equal(rec.data, ref.data)
    assert len(rec.annotations) == len(truth.annotations())


def test_two_writes_are_byte_identical(tmp_path):
    for name in ("a.edf", "b.edf"):
        write_stream(tmp_path / name, stream("night", 120, 1000, 1, channels=2))
    assert (tmp_path / "a.edf").read_bytes() == (tmp_path / "b.edf").read_bytes()


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("night", -5, 1000, 1), {}, "duration must be > 0"),
        (("night", 60, 400, 1), {}, "sampling rate 400 Hz is outside the 500-4000 Hz"),
        (("nap", 60, 1000, 1), {}, "unknown scenario 'nap'"),
        (("night", 60, 1000, 1), {"sneeze_per_h": 3}, "unknown parameter 'sneeze_per_h'"),
        (("night", 60, 1000, 1), {"spasm_per_h": -1}, "rate >= 0"),
        (("night", 60, 1000, 1), {"mains_hz": 55}, "mains must be 0 or one of 50, 60"),
        (("night", 60, 1000, 1), {"gain": 0}, "gain must be between"),
        (("night", 60, 1000, 1), {"sensor": "optical"}, "sensor must be one of"),
        (("night", 60, 1000, 1), {"channels": 0}, "channels must be"),
    ],
)
def test_impossible_parameters_are_one_line_usage_errors(args, kwargs, message):
    with pytest.raises(UsageError, match=message) as e:
        stream(*args, **kwargs)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("name", ["e.edf", "e.csv"])
def test_files_say_which_sensor_and_units_made_them(tmp_path, name):
    write_stream(tmp_path / name, stream("mixed", 20, 500, 3, sensor="envelope"))
    rec = read_recording(tmp_path / name)
    assert rec.sensor == "envelope" and rec.units == "adc"


def test_streamed_plot_reduction_matches_the_array_reduction():
    from emgwatch.synth.plot import traces_from_array, traces_from_stream

    s = stream("night", 2400, 500, 2)
    x = _collect(s, 10**7)
    i0, i1 = 1000, 1_150_000
    a = traces_from_stream(s, i0, i1, 400)
    spp = int(np.ceil((i1 - i0) / 400 / 50)) * 50
    whole = ((i1 - i0) // spp) * spp
    b = traces_from_array(x[i0 : i0 + whole], 500, i0 / 500, "raw", whole // spp)
    for f in ("t", "lo", "hi", "env_lo", "env_hi"):
        assert np.allclose(getattr(a, f), getattr(b, f)), f


def test_volt_units_scale_the_same_signal():
    uv, _ = simulate("mixed", 30, 1000, 3, units="uV")
    v, _ = simulate("mixed", 30, 1000, 3, units="V")
    assert v.units == "V" and np.allclose(uv.data * 1e-6, v.data)
    with pytest.raises(UsageError, match="units must be one of"):
        stream("mixed", 30, 1000, 3, units="furlongs")


def test_ecg_can_be_given_a_qrs_amplitude_and_come_and_go():
    # the dev-ecg set needs strong ECG that comes and goes (the noise floor is then measured
    # without it); the default draws stay as they were, so training data does not change
    kw = dict(channels=1, adc=False, pops=False, lead_off=False, motion_artifacts=False)
    plain, _ = simulate("daily", 900, 1000, 4, ecg=False, **kw)
    steady, _ = simulate("daily", 900, 1000, 4, ecg=True, ecg_uv=500.0, **kw)
    added = np.abs(steady.data[:, 0] - plain.data[:, 0])
    assert 350 < added.max() < 650  # the QRS peak, whatever the template's shape
    ecg = stream("daily", 900, 1000, 4, ecg=True, ecg_uv=500.0, ecg_intermittent=True, **kw)._ecg
    per_min = np.array([np.abs(ecg.render(60.0 * m, 60_000, 1000.0, 0)).max() for m in range(15)])
    assert (per_min == 0).sum() >= 2 and (per_min > 300).sum() >= 2  # off for minutes, then on
    again, _ = simulate("daily", 900, 1000, 4, ecg=True, **kw)
    drawn, _ = simulate("daily", 900, 1000, 4, ecg=True, ecg_uv=None, **kw)
    assert np.array_equal(again.data, drawn.data)


def test_ecg_of_either_polarity_is_rendered():
    # the sign of the drawn amplitude is the lead's polarity; a negative one was once dropped,
    # so that half of the channels that "picked up ECG" were clean
    kw = dict(channels=6, adc=False, pops=False, lead_off=False, motion_artifacts=False)
    plain, _ = simulate("daily", 60, 1000, 2, ecg=False, **kw)
    with_ecg, _ = simulate("daily", 60, 1000, 2, ecg=True, **kw)
    s = stream("daily", 60, 1000, 2, ecg=True, **kw)
    signs = np.sign(s._ecg.amp_uv)
    assert (signs < 0).any() and (signs > 0).any()
    added = np.abs(with_ecg.data - plain.data).max(axis=0)
    assert (added > 2.0).all(), added

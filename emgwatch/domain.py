"""Facts about the signal and the episodes, owned here and imported everywhere else.

Thresholds that a user might tune live in the config (``emgwatch.config``); this module holds
what is true of the domain and of the hardware regardless of configuration.
"""

from __future__ import annotations

# --- sampling --------------------------------------------------------------------------------
FS_DEFAULT_HZ = 1000.0
# Recordings are analysed from 200 Hz: AASM's minimum for EMG in a sleep study, where the leg
# EMG of polysomnography files is often sampled at 200-256 Hz. Only from FS_FULL_BAND_HZ up is
# the whole analysis band (emgwatch.dsp) recorded; below it, what lies above ~0.45 x the rate is
# missing (a warning says so). The generator and the firmware stay in the full-band range.
FS_MIN_HZ = 200.0
FS_FULL_BAND_HZ = 500.0
FS_MAX_HZ = 4000.0
FS_TOLERANCE = 0.005  # clock error accepted at the ends of that range


def fs_out_of_range(fs_hz: float, lowest: float = FS_MIN_HZ, who: str = "") -> str | None:
    """Why a sampling rate cannot be analysed (None if it can): one wording for every entry.

    ``lowest=FS_FULL_BAND_HZ`` where the whole band must be there, with ``who`` naming what
    asks for it (the simulator)."""
    # a board's crystal or a logger's clock is off by up to a few 0.1 %: a nominal 500 Hz
    # logger that measures 499.9 Hz is a 500 Hz logger
    if lowest * (1 - FS_TOLERANCE) <= fs_hz <= FS_MAX_HZ * (1 + FS_TOLERANCE):
        return None
    why = f"that {who} writes" if who else "that surface EMG needs (most power is at 50-150 Hz)"
    return f"sampling rate {fs_hz:.6g} Hz is outside the {lowest:g}-{FS_MAX_HZ:g} Hz {why}"


# Useful surface-EMG band (DOMAIN.md): high-pass removes motion/baseline wander, low-pass stops
# at 450 Hz or just below Nyquist for low sampling rates.
EMG_BAND_HZ = (20.0, 450.0)
MAINS_CHOICES_HZ = (50.0, 60.0)

# --- hardware --------------------------------------------------------------------------------
ADC_BITS = 10
ADC_MAX = (1 << ADC_BITS) - 1  # 1023 on an ATmega328P
ADC_MIDRAIL = (ADC_MAX + 1) / 2  # EMG front ends bias the signal to mid-rail
# Full scales of the ADC counts found in recordings: 10 bits (ATmega328P, this firmware) and
# 12 bits (ESP32, SAMD21, STM32 boards; BITalino/PLUX files with "Resolution: 12")
ADC_FULL_SCALES = (ADC_MAX, (1 << 12) - 1)

# --- episode kinds ---------------------------------------------------------------------------
# Window classes predicted by the classifier (order is the model's label order).
WINDOW_CLASSES = ("rest", "voluntary", "spasm", "cramp", "clonus", "plm", "artifact")
# Episode kinds the tracker can report; "voluntary" episodes are logged but never alert.
EPISODE_KINDS = ("spasm", "cramp", "clonus", "plm", "voluntary")
ALERT_KINDS = ("spasm", "cramp", "clonus", "plm")
# Ground-truth kinds a generator may emit that are look-alikes and must not alarm.
NON_ALERT_KINDS = ("voluntary", "turnover", "twitch", "posture")

CONTEXTS = ("sleep", "exercise", "auto")
# What a channel carries: the raw EMG, or the rectified, smoothed envelope of MyoWare-style boards
SENSORS = ("raw", "envelope")
# When live alerts go out ([detection] alerts, emgwatch.episodes.params_for): as the context says
# (confirmed in bed and during exercise, fast otherwise), or the same in every context
ALERT_TIMINGS = ("context", "fast", "confirmed")

# --- PLM scoring (WASM/IRLSSG 2016, summarised in DOMAIN.md) -------------------------------
PLM_MIN_DURATION_S = 0.5
PLM_MAX_DURATION_S = 10.0
PLM_MIN_INTERVAL_S = 10.0
PLM_MAX_INTERVAL_S = 90.0
PLM_MIN_SERIES = 4
PLM_MERGE_GAP_S = 0.5  # movements closer than this are one movement
# Without a declared sleep context, a rhythm of leg movements must also be *periodic* to be
# called PLM: brief voluntary movements of waking life often fall 10-90 s apart too, but not at a
# steady pace, while periodic leg movements keep one (Ferri's periodicity). The measure is the
# median |log| ratio of successive onset-to-onset intervals in the series: 0 for a metronome,
# about 0.3 for interval jitter of +-30 %, about 0.7 for random (Poisson-like) timing.
PLM_AUTO_MAX_INTERVAL_JITTER = 0.5

# --- clonus ----------------------------------------------------------------------------------
CLONUS_BAND_HZ = (3.0, 8.0)

# --- PLM index interpretation (DOMAIN.md) --------------------------------------------------
PLM_INDEX_ELEVATED_PER_H = 15.0  # movements in series per hour above which adults count as elevated

# --- readers ---------------------------------------------------------------------------------
# A signal sampled slower than this cannot be EMG nor its envelope (e.g. SpO2 or position in a
# polysomnography EDF); recording readers skip such signals.
FS_READABLE_MIN_HZ = 50.0


def sensor_to_read(known: str | None, configured: str = "auto") -> str:
    """The sensor type to read a recording or source as: the configured one, else what it knows
    of itself (a file's column names, a replayed file's type), else "auto" (decided from the
    signal's first seconds)."""
    return known if configured == "auto" and known in SENSORS else configured

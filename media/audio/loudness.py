"""Levels of the mix, in plain numpy: loudness per ITU-R BS.1770-4, the peak limiter that follows
normalisation, and the gain curve that ducks music under narration.

The meter and the limiter work on a stream of chunks and keep about a kilobyte of state per minute of audio,
so a long mix is measured and limited without ever being held in memory.
"""

import math
from array import array
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]

# The K-weighting filters at any sample rate, as derived by libebur128 from the 48 kHz coefficients that
# BS.1770 tabulates (the spec only gives 48 kHz). Stage 1 is the head's high shelf, stage 2 the RLB high-pass.
_SHELF_HZ = 1681.974450955533
_SHELF_GAIN_DB = 3.999843853973347
_SHELF_Q = 0.7071752369554196
_SHELF_VB_EXP = 0.4996667741545416
_HIGHPASS_HZ = 38.13547087602444
_HIGHPASS_Q = 0.5003270373238773
_FILTER_BLOCK = 4096
_GATE_ABSOLUTE = -70.0
_GATE_RELATIVE = -10.0
# A 5 ms look-ahead lets the limiter lower the gain smoothly before a peak instead of clipping it. The gain
# then recovers at 80 dB/s (~100 ms from a typical 8 dB): slower would pump and lose loudness around every
# transient, faster would distort bass by moving the gain within a cycle.
_LOOKAHEAD_SECONDS = 0.005
_RELEASE_DB_PER_SECOND = 80.0
# Narration counts as present where its RMS exceeds -45 dBFS; the hold bridges the pauses between words and
# sentences so the music does not swell up in every breath.
_ACTIVITY_THRESHOLD_DB = -45.0
_HOLD_SECONDS = 0.3

Coefficients = tuple[tuple[float, float, float], tuple[float, float, float]]


def k_weighting(rate: int) -> tuple[Coefficients, Coefficients]:
    """(b, a) of the two K-weighting biquads at `rate`, each with a[0] == 1."""
    k = math.tan(math.pi * _SHELF_HZ / rate)
    vh = 10 ** (_SHELF_GAIN_DB / 20)
    vb = vh**_SHELF_VB_EXP
    a0 = 1 + k / _SHELF_Q + k * k
    shelf = (
        ((vh + vb * k / _SHELF_Q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / _SHELF_Q + k * k) / a0),
        (1.0, 2 * (k * k - 1) / a0, (1 - k / _SHELF_Q + k * k) / a0),
    )
    k = math.tan(math.pi * _HIGHPASS_HZ / rate)
    a0 = 1 + k / _HIGHPASS_Q + k * k
    highpass = ((1.0, -2.0, 1.0), (1.0, 2 * (k * k - 1) / a0, (1 - k / _HIGHPASS_Q + k * k) / a0))
    return shelf, highpass


class RecursiveFilter:
    """An IIR filter (`a[0] == 1`) over (channels, n) chunks of at most 4096 samples, its state carried over.

    numpy has no recursive filter and a per-sample Python loop would take seconds per minute of audio, so the
    recursive part runs as a convolution with its impulse response truncated to the chunk length: exact but
    for rounding, since no output of a chunk depends on more inputs than that. The previous chunk's outputs
    enter as the equivalent extra input at the first `order` samples.
    """

    def __init__(self, b: Sequence[float], a: Sequence[float], channels: int) -> None:
        self._order = max(len(b), len(a)) - 1
        self._b = np.pad(np.asarray(b, dtype=np.float64), (0, self._order + 1 - len(b)))
        self._a = np.pad(np.asarray(a, dtype=np.float64), (0, self._order + 1 - len(a)))
        impulse = np.zeros(_FILTER_BLOCK + self._order)  # `order` leading zeros stand for y[-order..-1]
        for n in range(self._order, len(impulse)):
            previous = impulse[n - self._order : n][::-1]  # y[n-1], y[n-2], ...
            impulse[n] = (1.0 if n == self._order else 0.0) - float(self._a[1:] @ previous)
        self._response = np.fft.rfft(impulse[self._order :], 2 * _FILTER_BLOCK)
        self._x = np.zeros((channels, self._order))  # the last inputs and outputs, oldest first
        self._y = np.zeros((channels, self._order))

    def __call__(self, x: F64) -> F64:
        n, order = x.shape[1], self._order
        if n > _FILTER_BLOCK:
            raise ValueError(f"chunks are at most {_FILTER_BLOCK} samples")
        extended = np.concatenate([self._x, x], axis=1)
        v = sum(self._b[j] * extended[:, order - j : order - j + n] for j in range(order + 1))
        v = np.asarray(v, dtype=np.float64)
        for k in range(min(order, n)):
            for j in range(k + 1, order + 1):
                v[:, k] -= self._a[j] * self._y[:, order + k - j]
        size = 2 * _FILTER_BLOCK
        y = np.fft.irfft(np.fft.rfft(v, size) * self._response, size)[:, :n]
        self._x = extended[:, extended.shape[1] - order :].copy()
        self._y = np.concatenate([self._y, y], axis=1)[:, -order:].copy()
        return y


class LoudnessMeter:
    """Integrated loudness of planar (channels, n) chunks fed in order.

    Only the K-weighted energy of each 100 ms sub-block is kept (16 bytes per second of stereo): a gating
    block is four consecutive sub-blocks, which is BS.1770's 400 ms with 75 % overlap.
    """

    def __init__(self, rate: int, channels: int) -> None:
        self._rate = rate
        self._channels = channels
        # BS.1770 weights the surround channels of a 5-channel (L, R, C, Ls, Rs) signal by 1.41, others by 1.
        self._weights = np.array([1, 1, 1, 1.41, 1.41] if channels == 5 else [1.0] * channels)
        # The two stages as one 4th-order filter: half the FFTs of running them in turn, for rounding errors
        # of ~1e-7 of full scale (the tests compare it with the two biquads run sample by sample).
        (b1, a1), (b2, a2) = k_weighting(rate)
        self._filter = RecursiveFilter(np.convolve(b1, b2).tolist(), np.convolve(a1, a2).tolist(), channels)
        self._position = 0
        self._energy = np.zeros(channels)
        self._sub_blocks = array("d")

    def _boundary(self, k: int) -> int:
        """First sample of sub-block k: round(k * rate / 10), exact for rates that are not multiples of 10."""
        return (2 * k * self._rate + 10) // 20

    def add(self, samples: npt.NDArray[np.floating]) -> None:
        x = np.asarray(samples, dtype=np.float64)
        for start in range(0, x.shape[1], _FILTER_BLOCK):
            y = self._filter(x[:, start : start + _FILTER_BLOCK])
            squares = y * y
            i = 0
            while i < squares.shape[1]:
                end = self._boundary(len(self._sub_blocks) // self._channels + 1)
                take = min(end - self._position, squares.shape[1] - i)
                self._energy += squares[:, i : i + take].sum(axis=1)
                self._position += take
                i += take
                if self._position == end:
                    self._sub_blocks.extend(self._energy.tolist())
                    self._energy[:] = 0.0

    def integrated(self) -> float:
        """LUFS; -inf when no 400 ms block is louder than the absolute gate (silence, or under 400 ms)."""
        energy = np.frombuffer(self._sub_blocks, dtype=np.float64).reshape(-1, self._channels)
        count = energy.shape[0] - 3
        if count < 1:
            return -math.inf
        bounds = np.array([self._boundary(k) for k in range(energy.shape[0] + 1)])
        cumulative = np.concatenate([np.zeros((1, self._channels)), np.cumsum(energy, axis=0)])
        mean_square = (cumulative[4:] - cumulative[:count]) / (bounds[4:] - bounds[:count])[:, None]
        power = mean_square @ self._weights
        with np.errstate(divide="ignore"):
            loudness = -0.691 + 10 * np.log10(power)
        gated = loudness > _GATE_ABSOLUTE
        if not gated.any():
            return -math.inf
        relative = -0.691 + 10 * math.log10(float(power[gated].mean())) + _GATE_RELATIVE
        gated &= loudness > relative
        return -0.691 + 10 * math.log10(float(power[gated].mean()))


def integrated_loudness(samples: npt.NDArray[np.floating], rate: int) -> float:
    """BS.1770-4 integrated loudness in LUFS of (n, channels) (or (n,) mono) samples; -inf for silence."""
    frames = np.asarray(samples).reshape(len(samples), -1)
    meter = LoudnessMeter(rate, frames.shape[1])
    for start in range(0, len(frames), 16 * _FILTER_BLOCK):
        meter.add(frames[start : start + 16 * _FILTER_BLOCK].T)
    return meter.integrated()


class PeakLimiter:
    """Keeps |sample| at or below a ceiling by lowering the gain smoothly around peaks, chunk by chunk.

    This limits sample peaks, not true (inter-sample) peaks: BS.1770's 4x-oversampled true peak would cost a
    resampler for a difference that is usually well under 1 dB, which the default -1 dB ceiling absorbs.

    The gain is the minimum of the per-sample required gains over the next `lookahead` samples, released
    at a fixed dB rate, then averaged over `lookahead` samples: every value averaged for sample n already
    looked ahead at n, so the smoothing can never let n through above the ceiling.
    """

    def __init__(self, ceiling_db: float, rate: int) -> None:
        # The margin keeps float rounding (and the cast to float32) from landing a hair above the ceiling.
        self._ceiling = 10 ** (ceiling_db / 20) * (1 - 1e-6)
        self.lookahead = max(1, round(_LOOKAHEAD_SECONDS * rate))
        self._release = _RELEASE_DB_PER_SECOND / rate
        self._last_db = 0.0
        self._reductions = np.zeros(self.lookahead - 1)
        self._fresh = True

    def process(self, samples: F64, ahead: F64) -> F64:
        """Limit planar `samples`; `ahead` holds the (up to lookahead - 1) samples that follow them."""
        n = samples.shape[1]
        if n == 0:
            return samples
        window = self.lookahead
        if self._fresh:
            # The gain of the first samples averages over samples before the start: start from silence, so
            # those get the reductions their look-ahead calls for too.
            self._fresh = False
            silence = np.zeros((samples.shape[0], window - 1))
            return self.process(np.concatenate([silence, samples], axis=1), ahead)[:, window - 1 :]
        peaks = np.abs(np.concatenate([samples, ahead], axis=1)).max(axis=0, initial=0.0)
        # Past the end of the stream there is nothing to limit.
        peaks = np.pad(peaks, (0, n + window - 1 - len(peaks)))
        with np.errstate(divide="ignore"):
            needed = np.minimum(1.0, self._ceiling / peaks)
        needed_db = 20 * np.log10(_sliding_min(needed, window))
        # Gain may rise by at most `release` dB per sample: a running minimum of lines of that slope.
        ramp = self._release * np.arange(n)
        gain_db = np.minimum(
            ramp + np.minimum.accumulate(needed_db - ramp), self._last_db + ramp + self._release
        )
        self._last_db = float(gain_db[-1])
        # Averaging the reduction (not the gain) keeps unlimited stretches at a gain of exactly 1.
        reductions = np.concatenate([self._reductions, 1.0 - 10 ** (gain_db / 20)])
        totals = np.concatenate([[0.0], np.cumsum(reductions)])
        smoothed = (totals[window:] - totals[:-window]) / window
        self._reductions = reductions[n:]
        return np.asarray(samples * (1.0 - smoothed), dtype=np.float64)


def _sliding_min(values: F64, width: int) -> F64:
    """out[i] = min(values[i : i + width]) for each full window, doubling the window (log2(width) passes)."""
    out, span = values, 1
    while span * 2 <= width:
        out = np.minimum(out[:-span], out[span:])
        span *= 2
    if span < width:
        count = len(values) - width + 1
        out = np.minimum(out[:count], out[width - span : width - span + count])
    return out


def ducking_gain_db(
    mean_square: F64, window_seconds: float, duck_db: float, attack: float, release: float
) -> F64:
    """Gain in dB for ducked music, one value per window, from the narration's mean square per window.

    The whole narration is known before the music is mixed, so the attack runs ahead of it: the music is
    already down when the first word starts, and comes back over `release` seconds after the hold ends.
    """
    active = mean_square > 10 ** (_ACTIVITY_THRESHOLD_DB / 10)
    hold = round(_HOLD_SECONDS / window_seconds)
    held = np.convolve(active.astype(np.float64), np.ones(hold + 1))[: len(active)] > 0
    depth = np.where(held, -duck_db, 0.0)
    after = _spread(depth, _step(duck_db, release, window_seconds))
    before = _spread(depth[::-1], _step(duck_db, attack, window_seconds))[::-1]
    return -np.maximum(after, before)


def _step(duck_db: float, seconds: float, window_seconds: float) -> float:
    """dB per window of a ramp across the full ducking depth in `seconds` (0 s: a jump)."""
    return -duck_db * window_seconds / seconds if seconds > 0 else math.inf


def _spread(depth: F64, step: float) -> F64:
    """out[t] = max over s <= t of depth[s] - step * (t - s): each value decays by `step` per window."""
    if math.isinf(step):
        return depth
    ramp = step * np.arange(len(depth))
    return np.asarray(np.maximum.accumulate(depth + ramp) - ramp, dtype=np.float64)

"""Test media made here: a face video from the fixture photo turned by known angles (with or without sound), and
speech-like sound (voiced bursts at known times)."""
import subprocess
import wave
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import Image

from lganim.media.writers import write_mp4

PHOTO = Image.open(Path(__file__).parent / "fixtures" / "faces" / "astronaut.png").convert("RGB")   # 512², one face


def turned(angle: float, size: int = 256) -> np.ndarray:
    """The photo turned `angle` degrees counter-clockwise about its centre, at `size` px: uint8 [size, size, 3]."""
    return np.asarray(PHOTO.rotate(angle, resample=Image.BILINEAR, fillcolor=(128, 128, 128)).resize((size, size)))


def write_speech(path: Path, bursts=((0.3, 0.9), (1.4, 2.2)), seconds: float = 3.0, rate: int = 16000,
                 channels: int = 1) -> Path:
    """Voiced bursts (a 150 Hz pulse train with formant-like harmonics) at `bursts` (start, end) seconds, silence
    elsewhere, as a 16-bit WAV."""
    t = np.arange(int(seconds * rate)) / rate
    voice = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 12)) * (1 + 0.3 * np.sin(2 * np.pi * 4 * t))
    on = np.zeros_like(t)
    for start, end in bursts:
        on[(t >= start) & (t < end)] = 1.0
    samples = (0.25 * voice * on / 3).clip(-1, 1)
    data = (np.repeat(samples[:, None], channels, axis=1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(data.tobytes())
    return path


def rolling_face_video(path: Path, seconds: float = 2.0, fps: int = 24, max_roll: float = 12.0,
                       sound: bool = True, size: int = 256) -> np.ndarray:
    """A clip of the face rolling counter-clockwise by up to `max_roll` degrees (a half sine), with speech-like
    sound; returns the true roll of each frame (degrees, relative to the first)."""
    n = round(seconds * fps)
    angles = max_roll * np.sin(np.pi * np.arange(n) / max(n - 1, 1))
    audio = write_speech(path.with_suffix(".wav"), seconds=seconds) if sound else None
    write_mp4(np.stack([turned(a, size) for a in angles]), path, fps, audio=audio)
    if audio is not None:
        audio.unlink()
    return angles


FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
BURSTS = [(0.5, 0.9), (1.4, 2.0), (2.6, 2.9), (3.5, 4.3)]      # s: voiced bursts of the synthetic speech
PITCHES = [120, 140, 160, 180]                                  # Hz: their fundamentals


def voiced(duration: float, rate: int, f0: float) -> np.ndarray:
    """A vowel-like tone: harmonics of f0 (3 Hz vibrato of ±5 %) shaped by formants near 700 and 1200 Hz."""
    t = np.arange(int(duration * rate)) / rate
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.05 * np.sin(2 * np.pi * 3 * t))) / rate
    x = np.zeros_like(t)
    for k in range(1, int(3400 / f0)):
        gain = np.exp(-((k * f0 - 700) / 300) ** 2) + 0.6 * np.exp(-((k * f0 - 1200) / 400) ** 2) + 0.05
        x += gain * np.sin(k * phase)
    fade = np.minimum(1, np.minimum(t, t[-1] - t) / 0.01)      # 10 ms ramps, no clicks
    return x / np.abs(x).max() * fade


def speechlike(total: float = 5.0, rate: int = 16000, noise_db: float = -50, seed: int = 0,
               bursts=BURSTS) -> np.ndarray:
    """Background noise with voiced bursts (default BURSTS with PITCHES) at 0.3 of full scale."""
    x = np.random.default_rng(seed).normal(0, 10 ** (noise_db / 20), int(total * rate))
    for i, (a, b) in enumerate(bursts):
        part = 0.3 * voiced(b - a, rate, PITCHES[i % len(PITCHES)])
        x[int(a * rate):int(a * rate) + len(part)] += part
    return x.astype(np.float32)


def ffmpeg(*args):
    subprocess.run([FFMPEG, "-y", "-hide_banner", "-loglevel", "error", "-nostdin", *map(str, args)], check=True)

"""Test media made here: a face video from the fixture photo turned by known angles (with or without sound), longer
clips of a face rolling and drifting in a camera-sized frame (the fixture face, or a strongly altered copy of it
that the tracker's tests never saw), a fake camera file for the browser (.y4m), and speech-like sound (voiced bursts
at known times)."""
import subprocess
import wave
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import Image, ImageOps

from lganim.media.writers import write_mp4_stream

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
    write_mp4_stream([np.stack([turned(a, size) for a in angles])], path, fps, audio)
    if audio is not None:
        audio.unlink()
    return angles


def altered_face() -> Image.Image:
    """A face the tracker's tests never saw: the fixture photo mirrored, cropped closer (the face larger in the
    frame), its colour channels swapped (green skin and suit: other grey levels for dlib) and its contrast
    raised. 512², one face; the mission patch (a false face for dlib) stays in the picture."""
    closer = ImageOps.mirror(PHOTO).crop((48, 16, 464, 432)).resize((512, 512), Image.BICUBIC)
    swapped = np.asarray(closer)[..., [2, 0, 1]]
    return ImageOps.autocontrast(Image.fromarray(np.ascontiguousarray(swapped)), cutoff=1)


def camera_roll(n: int, fps: float, max_roll: float = 15.0, period: float = 4.0) -> np.ndarray:
    """The roll of a face that tilts its head from side to side: max_roll · sin(2π t / period) degrees, [n]."""
    return max_roll * np.sin(2 * np.pi * np.arange(n) / fps / period)


def camera_frame(face: Image.Image, roll: float, shift=(0.0, 0.0), size=(640, 480), scale: float = 0.8,
                 fill=(96, 110, 120)) -> np.ndarray:
    """`face` (512²) turned `roll` degrees counter-clockwise and scaled by `scale` about its centre, which lands
    `shift` pixels from the centre of a `size` (W, H) frame filled with `fill`: uint8 [H, W, 3]."""
    a = np.radians(roll)
    rot = scale * np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])     # counter-clockwise, y down
    forward = np.hstack([rot, (np.array(size) / 2 + shift - rot @ [256.0, 256.0])[:, None]])
    inverse = np.linalg.inv(np.vstack([forward, [0, 0, 1]]))[:2]
    return np.asarray(face.transform(size, Image.AFFINE, inverse.ravel().tolist(), resample=Image.BILINEAR,
                                     fillcolor=fill))


def camera_clip(n: int, fps: float = 25.0, size=(640, 480), altered: bool = False, max_roll: float = 15.0,
                period: float = 4.0):
    """(frames uint8 [n, H, W, 3] as a generator, true roll [n] in degrees) of a face tilting its head from side
    to side every `period` seconds while drifting slowly around the frame's centre, as in front of a webcam. 512²
    frames show the face at its own size, other sizes at 0.8 of it."""
    face = altered_face() if altered else PHOTO
    roll = camera_roll(n, fps, max_roll, period)
    t = np.arange(n) / fps
    drift = np.stack([12 * np.sin(2 * np.pi * t / 7), 8 * np.sin(2 * np.pi * t / 5)], axis=1)    # pixels
    scale = 1.0 if tuple(size) == (512, 512) else 0.8
    frames = (camera_frame(face, r, d, size, scale) for r, d in zip(roll, drift))
    return frames, roll


def write_camera_clip(path: Path, seconds: float = 10.0, fps: int = 25, size=(640, 480), altered: bool = False,
                      max_roll: float = 15.0, sound: bool = False) -> np.ndarray:
    """`camera_clip` written as an MP4 (streamed; with `sound`, speech-like bursts as AAC); returns the true roll of
    each frame (degrees)."""
    frames, roll = camera_clip(round(seconds * fps), fps, size, altered, max_roll)
    audio = write_speech(path.with_suffix(".wav"), seconds=seconds) if sound else None
    write_mp4_stream(([f] for f in frames), path, fps, audio)
    if audio is not None:
        audio.unlink()
    return roll


def write_y4m(path: Path, frames, fps: int = 25) -> Path:
    """Frames (uint8 [H, W, 3], even sizes) as a YUV4MPEG2 file (4:2:0, BT.601 full range): what Chromium's fake
    camera (`--use-file-for-fake-video-capture`) plays, in a loop."""
    with open(path, "wb") as out:
        for i, frame in enumerate(frames):
            rgb = np.asarray(frame, dtype=np.float64)
            h, w = rgb.shape[:2]
            if i == 0:
                out.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
            r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
            y = 0.299 * r + 0.587 * g + 0.114 * b
            u = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
            v = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
            quarter = lambda c: c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))   # noqa: E731  4:2:0 chroma
            out.write(b"FRAME\n")
            for plane in (y, quarter(u), quarter(v)):
                out.write(np.clip(np.round(plane), 0, 255).astype(np.uint8).tobytes())
    return path


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

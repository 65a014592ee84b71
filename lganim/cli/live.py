"""`live`: the live loop over a video file, frame by frame in order, as a camera would feed it (lganim.live): the
puppet's frames into an MP4 (one per input frame, at the input's average rate), the speed into a JSON file, the
session's motion into a track file."""
from __future__ import annotations

import time

import torch
from tqdm import tqdm

from ..files import write_json
from ..media.ffmpeg import MediaInfo
from ..media.video_reader import iter_video
from ..media.writers import write_mp4_stream
from ..request import LiveRequest
from .common import load


def run(args, built: tuple[LiveRequest, MediaInfo]) -> int:
    request, info = built                               # the video's header, read before any work
    fps = info.fps
    anim = load(args)
    if anim.device.type == "cpu":
        torch.set_num_threads(args.threads)
    session = anim.live(request)
    expected = round(info.duration * fps) if info.duration else None
    size = []                                           # (width, height) of the puppet's frames
    start = time.perf_counter()
    with tqdm(total=expected, unit="frame", desc="live", disable=None) as bar:
        def shown():
            for t, frame in iter_video(args.video, info=info):       # one frame at a time, in order
                out = session.step(frame, t)
                size[:] = [out.shape[1], out.shape[0]]
                bar.update(1)
                yield out[None]                                       # [1, H, W, 3]
        _, frames = write_mp4_stream(shown(), args.out, fps)
    seconds = time.perf_counter() - start
    stats = session.stats(window=None)
    track = session.track()
    report = {"frames": frames, "latency_ms": stats["latency_ms"], "fps": frames / seconds,
              "step_fps": stats["fps"], "seconds": seconds, "video": args.video.name, "video_fps": fps,
              "video_size": [info.width, info.height], "output_size": size,
              "domain": anim.domain.name, "device": str(anim.device), "threads": torch.get_num_threads(),
              "found": float(track.valid.mean()), "searches": session.tracker.searches,
              "region": request.region, "smooth": request.smooth}
    print(f"wrote {args.out} ({frames} frames; {report['fps']:.1f} frames/s, latency p50 "
          f"{stats['latency_ms']['p50']:.1f} ms, p95 {stats['latency_ms']['p95']:.1f} ms; face found in "
          f"{100 * report['found']:.0f} % of the frames)")
    if args.json is not None:
        write_json(args.json, report)
        print(f"wrote {args.json}")
    if args.track_out is not None:
        track.save(args.track_out)
        print(f"wrote {args.track_out}")
    return 0

#!/usr/bin/env bash
# The GPU measurements of benchmarks/README.md in one script, run from the repository root:
#
#   bash benchmarks/gpu.sh OUTDIR [STAGE ...]      STAGE: tests, eager, compiled, live, edit, video, fit, calibrate,
#                                                  sets (default: all nine)
#
# tests:    the CUDA checks (pytest -m gpu: the fast path, the motion model)        -> OUTDIR/gpu-tests.log
# eager:    1024², bf16, batches 1/16/64, plus the whole 16-frame request            -> OUTDIR/eager.json
# compiled: the same with torch.compile(mode="reduce-overhead") (CUDA graphs)        -> OUTDIR/compiled.json
# live:     the live loop (lganim.live) at 1024², bf16: a 10 s clip of a face tilting its head (made by
#           tests/synth.py) played as a 1024-pixel camera, one frame rendered per camera frame; goal 30 frames/s
#           with a median latency under 50 ms                                         -> OUTDIR/live.json
# edit:     one Edit-tab slider update (one 1024² frame, random weights, bf16) against a 16-frame clip of the
#           same face                                                                 -> OUTDIR/edit.json
# video:    editing a video (lganim.video_edit) at 1024², bf16: a 10 s 800×600 clip of a face with sound (made by
#           tests/synth.py) with a constant smile, random weights of the StyleGAN2 and a full e4e: tracking
#           frames/s, the preview, edited frames/s, peak memory                          -> OUTDIR/video.json
# fit:      the prompt fit, reference against fast (bf16), 1024², random weights, BENCH_FIT_STEPS steps, both judged
#           by the fp32 full-resolution objective after every step                   -> OUTDIR/fit.json
# calibrate: a domain's calibration of its control directions (BENCH_CALIBRATE_DOMAIN, default random: 1024²
#           random weights, every render measured by dlib), reference against fast (bf16) -> OUTDIR/calibrate.json
# sets:     a set (render-set, the demo domain: no files needed) on one process, then on BENCH_SET_PROCESSES under
#           torchrun (default: one per GPU; 2 on the CPU), each into a fresh folder, clips/s in each summary; then
#           eval --set of the first                             -> OUTDIR/set-1.json, set-N.json, set-eval.json/.md
# After the benchmark stages, the faster of the JSON files present is copied to OUTDIR/<gpu>-<date>.json, e.g.
# h200-2026-11-21.json (its "compile" field says which run it was): the file to commit under benchmarks/.
#
# The whole request uses `--request random` (generator, CLIP RN50 and motion model with random weights: their
# real cost, no files needed); it is left out, with a note, where clip-anytorch is not installed.
# Environment: PYTHON (default python3), BENCH_DEVICE (cuda), BENCH_SIZE (1024), BENCH_FRAMES (64),
# BENCH_LIVE_SECONDS (10, the live stage's clip), BENCH_LIVE_SIDE (the camera frames' longest side: BENCH_SIZE),
# BENCH_VIDEO_SECONDS (10, the video stage's clip),
# BENCH_FIT_STEPS (100, a whole fit), BENCH_CALIBRATE_DOMAIN (random), BENCH_DTYPE (bf16: every stage's compute
# dtype; fp32 where a CPU without native bf16 checks the script, bf16 being emulated there and many times slower),
# BENCH_PEAK_TFLOPS (790, docs/facts.md "Speed"'s bf16 rate of the H200), BENCH_SET_MANIFEST (examples/paper.csv),
# BENCH_SET_PROCESSES (the sets stage's processes under torchrun), BENCH_ARGS (more
# `lganim bench` arguments, e.g. "--repeats 5"). The device, size and frames can be changed so that the script
# itself is checked on a CPU at a tiny size (tests/test_gpu_script.py).
set -uo pipefail

out=${1:?usage: bash benchmarks/gpu.sh OUTDIR [tests|eager|compiled ...]}
shift
stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(tests eager compiled live edit video fit calibrate sets)
for stage in "${stages[@]}"; do
    case $stage in
        tests|eager|compiled|live|edit|video|fit|calibrate|sets) ;;
        *) echo "unknown stage '$stage': use tests, eager, compiled, live, edit, video, fit, calibrate or sets" >&2
           exit 2 ;;
    esac
done
py=${PYTHON:-python3}
device=${BENCH_DEVICE:-cuda}
size=${BENCH_SIZE:-1024}
frames=${BENCH_FRAMES:-64}
peak=${BENCH_PEAK_TFLOPS:-790}
dtype=${BENCH_DTYPE:-bf16}
read -r -a extra <<<"${BENCH_ARGS:-}"
export PYTHONUNBUFFERED=1
mkdir -p "$out" || exit 1
status=0

if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv | tee "$out/gpu.txt"
fi
"$py" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)" | tee -a "$out/gpu.txt"

request=(--request random)
if ! "$py" -c "from lganim.models.clip import import_clip; import_clip()" 2>/dev/null; then
    echo "note: clip-anytorch is not installed, so the whole-request timing is left out" | tee -a "$out/gpu.txt"
    request=()
fi
bench=("$py" -m lganim bench --device "$device" --size "$size" --frames "$frames" --batch 1 --batch 16 --batch 64
       --dtype "$dtype" --peak-tflops "$peak" "${request[@]}" "${extra[@]}")

for stage in "${stages[@]}"; do
    case $stage in
        tests)
            "$py" -m pytest -m gpu tests -p no:cacheprovider -q -rs 2>&1 \
                | tee "$out/gpu-tests.log" || status=1 ;;
        eager)
            "${bench[@]}" --json "$out/eager.json" 2>&1 | tee "$out/eager.log" || status=1 ;;
        compiled)
            "${bench[@]}" --compile reduce-overhead --json "$out/compiled.json" 2>&1 | tee "$out/compiled.log" \
                || status=1 ;;
        live)
            "$py" -c "import sys; from pathlib import Path; from tests.synth import write_camera_clip; \
write_camera_clip(Path(sys.argv[1]), seconds=float(sys.argv[2]))" "$out/camera.mp4" "${BENCH_LIVE_SECONDS:-10}" \
                && "$py" -m lganim bench --device "$device" --size "$size" --dtype "$dtype" --live "$out/camera.mp4" \
                    --live-side "${BENCH_LIVE_SIDE:-$size}" --json "$out/live.json" "${extra[@]}" 2>&1 | tee "$out/live.log" \
                || status=1 ;;
        edit)
            "$py" -m lganim bench --device "$device" --size "$size" --frames 16 --batch 16 --dtype "$dtype" --edit random \
                --json "$out/edit.json" "${extra[@]}" 2>&1 | tee "$out/edit.log" || status=1 ;;
        fit)
            "$py" -m lganim bench --device "$device" --size "$size" --dtype "$dtype" --fit --steps "${BENCH_FIT_STEPS:-100}" \
                --json "$out/fit.json" "${extra[@]}" 2>&1 | tee "$out/fit.log" || status=1 ;;
        calibrate)
            "$py" -m lganim bench --device "$device" --size "$size" --dtype "$dtype" \
                --calibrate "${BENCH_CALIBRATE_DOMAIN:-random}" --json "$out/calibrate.json" "${extra[@]}" 2>&1 \
                | tee "$out/calibrate.log" || status=1 ;;
        sets)
            manifest=${BENCH_SET_MANIFEST:-examples/paper.csv}
            gpus=$( (nvidia-smi -L 2>/dev/null || true) | grep -c "^GPU")
            procs=${BENCH_SET_PROCESSES:-$([ "$device" = cuda ] && echo $((gpus > 0 ? gpus : 1)) || echo 2)}
            render=(-m lganim render-set --domain demo --manifest "$manifest" --device "$device")
            rm -rf "$out/set-1" "$out/set-$procs"                 # fresh folders: a rerun would render nothing
            "$py" "${render[@]}" --out "$out/set-1" --json "$out/set-1.json" 2>&1 | tee "$out/set-1.log" \
                && "$py" -m torch.distributed.run --standalone --nproc_per_node "$procs" "${render[@]}" \
                    --out "$out/set-$procs" --json "$out/set-$procs.json" 2>&1 | tee "$out/set-$procs.log" \
                && "$py" -m lganim eval --set "$out/set-1" --device "$device" --json "$out/set-eval.json" \
                    --markdown "$out/set-eval.md" 2>&1 | tee "$out/set-eval.log" \
                || status=1 ;;
        video)
            "$py" -c "import sys; from pathlib import Path; from tests.synth import write_camera_clip; \
write_camera_clip(Path(sys.argv[1]), seconds=float(sys.argv[2]), size=(800, 600), sound=True)" "$out/video-clip.mp4" \
                "${BENCH_VIDEO_SECONDS:-10}" \
                && "$py" -m lganim bench --device "$device" --size "$size" --dtype "$dtype" --video "$out/video-clip.mp4" \
                    --json "$out/video.json" "${extra[@]}" 2>&1 | tee "$out/video.log" \
                || status=1 ;;
    esac
done

# the faster benchmark file (by the best frames/s over the batches) is the one to commit
"$py" - "$out" <<'EOF' || status=1
import datetime, json, re, shutil, sys
from pathlib import Path
out = Path(sys.argv[1])
runs = [p for p in (out / "eager.json", out / "compiled.json") if p.is_file()]
if runs:
    best = max(runs, key=lambda p: json.loads(p.read_text())["fps"])
    name = json.loads(best.read_text())["device_name"]
    gpu = "h200" if "H200" in name else re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    target = out / f"{gpu}-{datetime.date.today().isoformat()}.json"
    shutil.copyfile(best, target)
    print(f"{best.name} is the faster run: copied to {target}")
EOF
exit $status

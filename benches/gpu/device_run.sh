#!/bin/bash
# Issue 15 target 4 in one call on a lent GPU machine (NVIDIA H100/H200), from the folders that
# benches/gpu/prepare.sh built here (carry [".gpu", ".gl"], timeout_s 560). Each part has its
# own time cap, most valuable first, so a slow part costs only itself. Everything printed is
# also in $OUT/device_run.log. Locally (no loaders to unpack, a software adapter), narrow it:
#   NO_LOADERS=1 SIZES=256 BATCHES=1,64 LENET_LIMIT=400 OUT=/tmp/gpu_out bash benches/gpu/device_run.sh
set -u
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/gpu_out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/device_run.log") 2>&1
SIZES=${SIZES:-1024,4096}
BATCHES=${BATCHES:-64,256}
LENET_LIMIT=${LENET_LIMIT:-10000}
# part NAME SECONDS COMMAND...: one part under its cap (0: the command caps itself, as a shell
# function must), with its wall time and exit status.
part() {
  local name=$1 cap=$2 start=$SECONDS
  shift 2
  echo "=== $name $(date -u +%T)"
  if [ "$cap" = 0 ]; then "$@"; else timeout "$cap" "$@"; fi
  echo "=== $name: rc $? in $((SECONDS - start)) s"
}
if [ -z "${NO_LOADERS:-}" ]; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
  icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd; fi
fi
nvidia-smi -L 2>/dev/null
echo "cores $(nproc); $(grep -m1 'model name' /proc/cpuinfo)"
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/rpusim_site .gpu/*.whl || exit 1
export PYTHONPATH=/tmp/rpusim_site RPUSIM_DATA=$PWD/.gpu/data OMP_WAIT_POLICY=PASSIVE
export CRITERION_HOME=/tmp/criterion
python3 -c 'import rpusim, torch; print("adapter", rpusim.gpu_unavailable_reason() or rpusim.backends()); print("torch", torch.__version__, torch.cuda.is_available())'
cores=$(nproc)
cuda=$(python3 -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")')

# 1. The cpu and gpu backends agree bit for bit on a real GPU (pulse trains, weights, reads).
part "rust gpu tests" 45 .gpu/rust_tests gpu_ --test-threads 4
part "python backend parity" 60 python3 -m pytest -q -x -p no:cacheprovider \
  tests/python/test_backend_parity.py tests/python/test_gpu_reliability.py
# 2. Tile kernels, gpu against rayon on all host cores (target: 4096² b256 step ≥ 10×).
tile_ops() {
  RPUSIM_BENCH_SIZES="$SIZES" RPUSIM_BENCH_BATCHES="$BATCHES" RPUSIM_BENCH_THREADS="$cores" \
    timeout "$1" .gpu/tile_ops --bench "$2"
}
part "criterion step and update" 0 tile_ops 150 '^(step|update)/'
part "criterion forward and backward" 0 tile_ops 80 '^(forward|backward)/'
# 3. One layer's forward, forward+backward and step against torch on CUDA.
part "layer against torch $cuda" 60 python3 benches/python/bench_training.py --backend gpu \
  --torch-device "$cuda" --threads "$cores" --sizes "$SIZES" --batches "$BATCHES" --seconds 0.5
# 4. LeNet5 on MNIST, batch 8 (target: ≤ 5 s per 10 000 images on the gpu backend).
lenet=(python3 -m rpusim.examples.lenet5 --device constant-step --epochs 1 --no-progress
  --data-dir "$RPUSIM_DATA" --out /tmp/lenet5_runs)
part "lenet5 gpu" 100 "${lenet[@]}" --backend gpu --limit "$LENET_LIMIT"
part "lenet5 cpu, $cores rayon threads" 40 env RAYON_NUM_THREADS="$cores" "${lenet[@]}" --backend cpu --limit 4000
echo "=== done $(date -u +%T)"

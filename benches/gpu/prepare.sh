#!/bin/bash
# Builds, on this machine, everything benches/gpu/device_run.sh needs on a lent GPU machine (which
# has no Rust toolchain and no network), into two folders that .git/info/exclude ignores:
#   .gpu/  the rpusim wheel, the criterion bench and Rust test binaries (stripped), MNIST
#   .gl/   the Vulkan/EGL loader packages (the device README's recipe)
# Then make one `run` call (the device tool) with carry [".gpu", ".gl"]:
#   command: bash benches/gpu/device_run.sh      timeout_s: 560
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .git/info
for d in /.gpu/ /.gl/; do grep -qxF "$d" .git/info/exclude 2>/dev/null || echo "$d" >>.git/info/exclude; done
rm -rf .gpu && mkdir -p .gpu/data/mnist
executables() { # the test or bench executables a cargo --no-run build reports as JSON
  python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable"):
        print(m["executable"])'
}
bench=$(cargo bench --bench tile_ops --no-run --message-format=json | executables)
tests=$(cargo test --release --test rust --no-run --message-format=json | executables)
strip -o .gpu/tile_ops "$bench"
strip -o .gpu/rust_tests "$tests"
maturin build --release -q -o .gpu
cp ../shared/data/mnist/*.gz .gpu/data/mnist/
if ! ls .gl/libvulkan1_*.deb >/dev/null 2>&1; then
  mkdir -p .gl /tmp/amd64/partial
  o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
  apt-get "${o[@]}" update -qq
  (cd .gl && apt-get "${o[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
du -sh .gpu .gl
echo "ready: run(command='bash benches/gpu/device_run.sh', carry=['.gpu', '.gl'], timeout_s=560)"

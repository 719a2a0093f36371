#!/bin/bash
# One sitting of issue 15's CPU targets (BENCHMARKS.md §12): aihwkit, this build ("new") and a
# base build alternated. BASE_PYTHONPATH: a folder holding the base build's `rpusim` package
# (put first on PYTHONPATH); AIHWKIT_PYTHON: the venv of ../shared/tools/setup_aihwkit.sh;
# LATE_AIHWKIT=1 also times aihwkit after 1 500 steps (about 4 minutes).
set -u
cd "$(dirname "$0")/.."
: "${BASE_PYTHONPATH:?set BASE_PYTHONPATH to a folder holding the base build rpusim package}"
AIH=${AIHWKIT_PYTHON:-/work/venvs/aihwkit/bin/python}
export OMP_WAIT_POLICY=PASSIVE
base() { PYTHONPATH=$BASE_PYTHONPATH python "$@"; }
one() { RAYON_NUM_THREADS=1 OMP_NUM_THREADS=1 "$@"; }
date
for shape in "512 512 64" "256 256 1"; do for i in 1 2 3; do
  a=$($AIH ../shared/tools/step_bench.py aihwkit $shape)
  n=$(python ../shared/tools/step_bench.py rpusim $shape)
  b=$(base ../shared/tools/step_bench.py rpusim $shape)
  echo "STEP $shape round $i aihwkit $a new $n base $b"
done; done
for i in 1 2; do
  n=$(RAYON_NUM_THREADS=1 python ../shared/tools/step_bench.py rpusim 256 256 1)
  b=$(RAYON_NUM_THREADS=1 base ../shared/tools/step_bench.py rpusim 256 256 1)
  echo "STEP1T 256 256 1 round $i new $n base $b"
done
for i in 1 2; do
  echo "LATE round $i new $(python benches/python/late_state_step.py rpusim)"
  echo "LATE round $i base $(base benches/python/late_state_step.py rpusim)"
done
if [ -n "${LATE_AIHWKIT:-}" ]; then echo "LATE aihwkit $($AIH benches/python/late_state_step.py aihwkit 2>&1 | tail -1)"; fi
python benches/python/bench_compounds.py --loss linear --repeat 1 --seconds 3 --aihwkit-python "$AIH"
echo "COMPOUNDS base"; base benches/python/bench_compounds.py --loss linear --repeat 1 --seconds 3
for i in 1 2 3; do
  echo "L1 round $i base $(one base benches/python/lenet5_steps.py constant-step --steps 400 2>&1 | tail -1)"
  echo "L1 round $i new $(one python benches/python/lenet5_steps.py constant-step --steps 400 2>&1 | tail -1)"
  echo "L1 round $i float $(one python benches/python/lenet5_steps.py float --steps 400 2>&1 | tail -1)"
done
for i in 1 2; do
  echo "L2 round $i base $(base benches/python/lenet5_steps.py constant-step --steps 400 2>&1 | tail -1)"
  echo "L2 round $i new $(python benches/python/lenet5_steps.py constant-step --steps 400 2>&1 | tail -1)"
  echo "L2 round $i float $(python benches/python/lenet5_steps.py float --steps 400 2>&1 | tail -1)"
done
# example RUNNER DEVICE: RUNNER is python (this build) or base.
example() { "$1" -m rpusim.examples.lenet5 --device "$2" --epochs 1 --limit 4000 --data-dir ../shared/data --no-progress --out /tmp/issue15_example 2>&1 | grep epoch; }
for i in 1 2; do
  echo "EX round $i base $(example base constant-step)"
  echo "EX round $i new $(example python constant-step)"
  echo "EX round $i float $(example python float)"
done
date

#!/bin/bash
# Target 1 of issue 15 (LeNet5 against float torch) in one sitting, this build ("new") and a base
# build alternated (BENCHMARKS.md §15). BASE_PYTHONPATH: a folder holding the base build's
# `rpusim` package (put first on PYTHONPATH); AIHWKIT_PYTHON: the venv of
# ../shared/tools/setup_aihwkit.sh (for the step_bench rounds). Round counts: L2_ROUNDS,
# L1_ROUNDS, EX_ROUNDS, STEP_ROUNDS (0 skips the step_bench rounds), T1_ROUNDS (torch at one
# thread and rayon at two, the float model at one thread: each side's fastest setting on 2 cores);
# STEPS per lenet5_steps run.
set -u
cd "$(dirname "$0")/.."
: "${BASE_PYTHONPATH:?set BASE_PYTHONPATH to a folder holding the base build rpusim package}"
AIH=${AIHWKIT_PYTHON:-/work/venvs/aihwkit/bin/python}
export OMP_WAIT_POLICY=PASSIVE
base() { PYTHONPATH=$BASE_PYTHONPATH python "$@"; }
one() { RAYON_NUM_THREADS=1 OMP_NUM_THREADS=1 "$@"; }
steps() { "$@" benches/python/lenet5_steps.py "${DEVICE:-constant-step}" --steps "${STEPS:-400}" 2>&1 | tail -1; }
date
for i in $(seq "${L2_ROUNDS:-3}"); do
  echo "L2 round $i base $(steps base)"
  echo "L2 round $i new $(steps python)"
  echo "L2 round $i float $(DEVICE=float steps python)"
done
for i in $(seq "${L1_ROUNDS:-2}"); do
  echo "L1 round $i base $(one steps base)"
  echo "L1 round $i new $(one steps python)"
  echo "L1 round $i float $(DEVICE=float one steps python)"
done
for i in $(seq "${T1_ROUNDS:-0}"); do
  echo "T1 round $i base $(OMP_NUM_THREADS=1 steps base)"
  echo "T1 round $i new $(OMP_NUM_THREADS=1 steps python)"
  echo "T1 round $i float $(DEVICE=float OMP_NUM_THREADS=1 steps python)"
done
example() { "$1" -m rpusim.examples.lenet5 --device "$2" --epochs 1 --limit 4000 --data-dir ../shared/data --no-progress --out /tmp/issue15_example 2>&1 | grep epoch; }
for i in $(seq "${EX_ROUNDS:-2}"); do
  echo "EX round $i base $(example base constant-step)"
  echo "EX round $i new $(example python constant-step)"
  echo "EX round $i float $(example python float)"
done
for i in $(seq "${STEP_ROUNDS:-3}"); do
  echo "STEP 256 256 1 round $i aihwkit $($AIH ../shared/tools/step_bench.py aihwkit 256 256 1) new $(python ../shared/tools/step_bench.py rpusim 256 256 1) base $(base ../shared/tools/step_bench.py rpusim 256 256 1)"
done
for i in $(seq $(( ${STEP_ROUNDS:-3} > 0 ? 2 : 0 ))); do
  echo "STEP 512 512 64 round $i aihwkit $($AIH ../shared/tools/step_bench.py aihwkit 512 512 64) new $(python ../shared/tools/step_bench.py rpusim 512 512 64) base $(base ../shared/tools/step_bench.py rpusim 512 512 64)"
done
date

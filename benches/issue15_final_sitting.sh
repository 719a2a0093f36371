#!/bin/bash
# Every CPU target of issue 15 in one sitting (BENCHMARKS.md §21): target 3 (bench_compounds.py,
# this build with aihwkit interleaved, COMPOUND_REPEAT times, then the base build once), then
# targets 1 and 2 through issue15_lenet_sitting.sh, whose round counts (L2_ROUNDS, ...) apply.
# BASE_PYTHONPATH and AIHWKIT_PYTHON as there.
set -u
cd "$(dirname "$0")/.."
: "${BASE_PYTHONPATH:?set BASE_PYTHONPATH to a folder holding the base build rpusim package}"
AIH=${AIHWKIT_PYTHON:-/work/venvs/aihwkit/bin/python}
export OMP_WAIT_POLICY=PASSIVE
date
python benches/python/bench_compounds.py --loss linear --repeat "${COMPOUND_REPEAT:-2}" --seconds 3 \
  --aihwkit-python "$AIH"
echo "COMPOUNDS base"
PYTHONPATH=$BASE_PYTHONPATH python benches/python/bench_compounds.py --loss linear --repeat 1 --seconds 3
bash benches/issue15_lenet_sitting.sh

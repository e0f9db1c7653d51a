#!/usr/bin/env bash
# The GPU rows of docs/benchmarks.md (issue 18), in one call on a GPU machine (repo root as cwd).
#   bash workflows/perf/gpu_check.sh [rows] [scale] [profile]     (default: all three)
#   .whl/  wheels for the packages the machine lacks (anndata, scanpy and their pure deps)
#   .gpu/  her2st/her2st_*.h5ad (the six dev sections, all genes; for "rows")
# Results land in $OUT (default: results/gpu): rows.md, perf.md/.csv, profile.txt, dmon.txt, log.
set -u
OUT=${OUT:-results/gpu}
STEPS=${*:-rows scale profile}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
if [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site:$PWD
fi
log="$OUT/log.txt"
python3 -c "import omib_st.io, omib_st.model, omib_st.cli" >"$log" 2>&1 || { cat "$log"; exit 1; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv >"$OUT/gpu.txt"
nvidia-smi dmon -s um -d 1 -o T >"$OUT/dmon.txt" 2>&1 &
stamp() { echo "== $(date +%T) $*" | tee -a "$log"; }
case " $STEPS " in *" rows "*)
    stamp "CLI rows: her2st fit (expression) and 4k Visium detect (image), defaults, device auto"
    timeout 170 python3 -m omib_st benchmark perf --sizes --her2st .gpu/her2st --visium-4k \
        --out /tmp/rows >>"$log" 2>&1
    cp /tmp/rows/cli_rows.md "$OUT/rows.md" 2>/dev/null ;;
esac
case " $STEPS " in *" scale "*)
    stamp "perf preset: 5k and 500k bins, fit on 1,800, score all"
    timeout 390 python3 -m omib_st benchmark perf --sizes 5000 500000 --device cuda \
        --out /tmp/perf >>"$log" 2>&1
    cp /tmp/perf/perf.md /tmp/perf/perf.csv "$OUT/" 2>/dev/null ;;
esac
case " $STEPS " in *" profile "*)
    stamp "profile: 5,000 spots fit (default detector, 1 + 1 epochs) + score"
    printf "train: {progress_bar: false, warmup_epochs: 1, max_epochs: 1}\n" >/tmp/profile.yaml
    timeout 140 python3 workflows/perf/profile_detect.py --spots 5000 --device cuda \
        --config /tmp/profile.yaml >"$OUT/profile.txt" 2>&1 ;;
esac
stamp "done"

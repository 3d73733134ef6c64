#!/bin/bash
# Slurm template: one femcell study on N MPI ranks from the Apptainer image (container/README.md).
#
#   STUDY=problems/na_ccd_ramp.toml sbatch --ntasks=64 container/slurm_job.sh
#   STUDY=... sbatch container/slurm_job.sh --petsc-option log_view= --set study.resolution=fine
#
# Arguments after the script name are passed on to `femcell run`. The run folder is stable
# (RUN_FOLDER, default runs/<study file name>), not the job id: submitting the script again
# with the same STUDY and RUN_FOLDER, on any number of nodes and ranks, continues the run
# from its newest complete checkpoint (`femcell run --restart`); a sweep or a CCD study
# reruns only its points that did not complete. A completed run is left as it is.
# container/slurm_chain.sh resubmits automatically (a job array of chained restarts).
#
# Environment: STUDY, IMAGE (femcell.sif), RUN_FOLDER, CHECKPOINT_MINUTES (30: a checkpoint
# at least that often, so a hard kill loses at most that much), LOG_LEVEL (info).
# Exit code: femcell's (0 completed, 2 bad input, 3 no convergence, 138 / 143 stopped by
# SIGUSR1 / SIGTERM with a checkpoint and summary.json "interrupted", 1 a bug).
#
#SBATCH --job-name=femcell
#SBATCH --nodes=1
#SBATCH --ntasks=32
#SBATCH --time=02:00:00
#SBATCH --output=femcell-%j.out
#SBATCH --open-mode=append
# A pre-empted or failed-node job is requeued with the same id and resumes (see below).
#SBATCH --requeue
# --signal=USR1@600: about 600 s before the time limit Slurm sends SIGUSR1 (sbatch: "may be
# sent up to 60 seconds earlier than specified"). Without the "B:" prefix it goes to all job
# steps, i.e. every task that srun started (every femcell rank), and not to the batch shell;
# "B:USR1" would signal only the batch shell and none of the ranks. On SIGUSR1 every rank
# finishes its current step, a checkpoint and summary.json are written, and femcell exits
# 138. The lead time must cover the longest step plus the checkpoint: at the limit itself
# Slurm sends SIGTERM (femcell stops the same way, exit 143) and SIGKILL KillWait seconds
# later (30 s by default).
#SBATCH --signal=USR1@600
set -euo pipefail

STUDY=${STUDY:-problems/li_llzo_li_symmetric.toml}
IMAGE=${IMAGE:-femcell.sif}
RUN_FOLDER=${RUN_FOLDER:-runs/$(basename "$STUDY" .toml)}
CHECKPOINT_MINUTES=${CHECKPOINT_MINUTES:-30}
LOG_LEVEL=${LOG_LEVEL:-info}
# one MPI rank per task; gmsh's OpenMP threads would oversubscribe the cores
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

# The top-level "status" of a summary.json / sweep.json ("" if unreadable), read with the
# image's Python (the host may have none).
json_status() {
    apptainer exec "$IMAGE" python3 -c \
        'import json, sys; print(json.load(open(sys.argv[1])).get("status", ""))' "$1" \
        2>/dev/null || true
}

# Where the run in RUN_FOLDER stands: completed, started (something --restart continues
# from: a checkpoint, a finished sweep point or CCD ramp, a sweep) or new. A single run
# stopped before its first checkpoint has nothing to continue from: it starts again
# (`femcell run --restart` refuses a folder without a checkpoint, exit 2).
run_state() {
    local f
    for f in "$RUN_FOLDER/summary.json" "$RUN_FOLDER/sweep.json"; do
        if [ -f "$f" ] && [ "$(json_status "$f")" = completed ]; then
            echo completed
            return
        fi
    done
    if [ -d "$RUN_FOLDER" ] && [ -n "$(find "$RUN_FOLDER" -maxdepth 4 \
            \( -path '*/checkpoints/*/state.json' -o -path '*/ramps/*/result.json' \
               -o -path "$RUN_FOLDER/sweep.json" -o -path "$RUN_FOLDER/*/summary.json" \) \
            -print -quit)" ]; then
        echo started
    else
        echo new
    fi
}

state=$(run_state)
echo "femcell: job ${SLURM_JOB_ID:-?} (restart count ${SLURM_RESTART_COUNT:-0}): $STUDY," \
     "run folder $RUN_FOLDER ($state), ${SLURM_NTASKS:-?} ranks on ${SLURM_JOB_NUM_NODES:-?} node(s)"
if [ "$state" = completed ]; then
    echo "femcell: the run in $RUN_FOLDER is completed: nothing to do (another RUN_FOLDER starts anew)"
    exit 0
fi
# -o starts a new run (and clears the folder's earlier outputs); --restart continues one.
mode=(-o "$RUN_FOLDER")
if [ "$state" = started ]; then
    mode=(--restart "$RUN_FOLDER")
fi

# MPICH inside the image talks to Slurm through PMI2. -m mpi4py: a rank that raises ends
# the whole job instead of leaving the others waiting.
rc=0
srun --mpi=pmi2 apptainer exec "$IMAGE" \
    python3 -m mpi4py -m femcell.cli run "$STUDY" "${mode[@]}" --quiet \
    --checkpoint-minutes "$CHECKPOINT_MINUTES" --log-level "$LOG_LEVEL" "$@" || rc=$?

case $rc in
    0) echo "femcell: completed: results in $RUN_FOLDER/" ;;
    130 | 138 | 143) echo "femcell: stopped by a signal (exit $rc) after writing a checkpoint;" \
                          "submit again with RUN_FOLDER=$RUN_FOLDER, the same STUDY and the same" \
                          "arguments to continue" ;;
    *) echo "femcell: exit $rc; see the log above and $RUN_FOLDER/summary.json" ;;
esac
exit "$rc"

#!/bin/bash
# Slurm example: a job array of chained restarts, for a study longer than the time limit.
#
#   STUDY=problems/na_ccd_ramp.toml sbatch --array=1-10%1 --ntasks=64 container/slurm_chain.sh
#
# "%1" runs one task at a time. Every task runs container/slurm_job.sh on the same run folder
# (RUN_FOLDER, default runs/<study file name>): the first starts the run, each later one
# continues from the newest complete checkpoint the previous one left (`femcell run
# --restart`), on however many nodes and ranks it has. Near its time limit a task is sent
# SIGUSR1 (see --signal below), femcell writes a checkpoint and exits 138, and the next task
# takes over. Once summary.json says completed, the task cancels the array's remaining
# (pending) tasks. Bad input (2), no convergence (3) or a bug (1) stops the chain too:
# running again would end the same way. Arguments after the script name go to `femcell run`.
#
# Submit from the repository root (the tasks start in the submission folder and run
# container/slurm_job.sh from there; JOB_SCRIPT overrides that path).
#
#SBATCH --job-name=femcell-chain
#SBATCH --array=1-8%1
#SBATCH --nodes=1
#SBATCH --ntasks=32
#SBATCH --time=04:00:00
#SBATCH --output=femcell-%A_%a.out
#SBATCH --open-mode=append
#SBATCH --requeue
# Without the "B:" prefix the signal goes to all job steps (every femcell rank that srun
# started) and not to the batch shell; "B:USR1" would reach only this shell. Slurm may send
# it up to 60 s early. The #SBATCH lines of slurm_job.sh do not apply here (it is run by
# bash, not submitted), so the signal is asked for again.
#SBATCH --signal=USR1@600
set -euo pipefail

STUDY=${STUDY:-problems/li_llzo_li_symmetric.toml}
RUN_FOLDER=${RUN_FOLDER:-runs/$(basename "$STUDY" .toml)}
export STUDY RUN_FOLDER
JOB_SCRIPT=${JOB_SCRIPT:-${SLURM_SUBMIT_DIR:-.}/container/slurm_job.sh}
TASK="${SLURM_ARRAY_JOB_ID:-?}_${SLURM_ARRAY_TASK_ID:-?}"

# Cancel the tasks of this array that have not started (not this one, which is running).
stop_chain() {
    echo "femcell chain $TASK: $1; cancelling the remaining tasks"
    if [ -n "${SLURM_ARRAY_JOB_ID:-}" ]; then
        scancel --state=PENDING "$SLURM_ARRAY_JOB_ID" || true
    fi
}

rc=0
bash "$JOB_SCRIPT" "$@" || rc=$?

case $rc in
    0) stop_chain "$RUN_FOLDER completed" ;;
    1 | 2 | 3) stop_chain "femcell exited $rc, which a restart would not change" ;;
    *) echo "femcell chain $TASK: stopped with exit $rc; the next task of the array continues" \
            "from $RUN_FOLDER" ;;
esac
exit "$rc"

#!/bin/bash
# Slurm template: a femcell study on N ranks from the Apptainer image.
#SBATCH --job-name=femcell
#SBATCH --nodes=1
#SBATCH --ntasks=32
#SBATCH --time=02:00:00
#SBATCH --output=femcell-%j.out
set -euo pipefail
STUDY=${STUDY:-problems/li_llzo_li_symmetric.toml}
IMAGE=${IMAGE:-femcell.sif}
# one MPI rank per task; -m mpi4py aborts every rank if one raises
srun --mpi=pmi2 apptainer exec "$IMAGE" \
    python3 -m mpi4py -m femcell.cli run "$STUDY" --quiet -o "runs/${SLURM_JOB_ID}"

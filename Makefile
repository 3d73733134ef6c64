# femcell: two set-up commands for a fresh machine (README.md)
#   make demo   create .venv (Python >= 3.12 found by tools/find_python.sh), install femcell
#               with the pip DOLFINx build, run the default study
#   make test   same bootstrap, then the test suite serially and under mpiexec -n 2
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.femcell-installed
DEMO_STUDY ?= problems/na_ccd_ramp.toml
PYTEST_ARGS ?=
# the one-rank pass runs its test files on two pytest workers (pytest-xdist; a file stays on
# one worker, in order): the machine's second core is otherwise idle there
SERIAL_WORKERS ?= 2

.PHONY: demo test test-serial test-mpi bench lint venv clean

venv: $(STAMP)

# Reinstall only when the package metadata changed (the install is editable).
$(STAMP): pyproject.toml tools/find_python.sh
	@set -e; \
	if [ ! -x $(PY) ]; then \
	  py=$$(tools/find_python.sh); \
	  echo "femcell: creating $(VENV) with $$py"; \
	  "$$py" -m venv $(VENV); \
	fi; \
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip; \
	PYTHONWARNINGS=ignore $(PY) -m pip install --quiet --disable-pip-version-check -e '.[wheel,test]'; \
	$(PY) -c "import femcell._dolfinx as d; print('femcell: DOLFINx', d.dolfinx.__version__, 'ready')"; \
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/femcell run $(DEMO_STUDY)

test: test-serial test-mpi

test-serial: $(STAMP)
	$(PY) -m pytest -q -n $(SERIAL_WORKERS) --dist loadfile $(PYTEST_ARGS)

# One mpiexec per test folder (cli), per group of unit files or per test file (verification,
# studies): a long MPI process accumulates MPICH communicator context ids (MUMPS
# factorisations, VI solvers) until MPI aborts (exit 15, or an abort inside
# dolfinx.mesh.create_mesh). Unit files without meshes, communicators or runs (formulas,
# libraries, units, schemas) run in the serial pass only.
MPI_SERIAL_ONLY_UNIT := analytic_mechanics anode_library kinetics kramers_kronig mechanical_materials \
                        readme_format units validation
MPI_UNIT := $(filter-out $(foreach f,$(MPI_SERIAL_ONLY_UNIT),tests/unit/test_$(f).py), \
                         $(wildcard tests/unit/test_*.py))
MPI_TEST_DIRS ?= "$(MPI_UNIT)" tests/cli $(wildcard tests/verification/test_*.py) \
                 $(wildcard tests/studies/test_*.py)

test-mpi: $(STAMP)
	@set -e; for d in $(MPI_TEST_DIRS); do \
	  echo "mpiexec -n 2: $$d"; \
	  $(VENV)/bin/mpiexec -n 2 $(PY) -m mpi4py -m pytest -q -p no:cacheprovider $(PYTEST_ARGS) $$d \
	    || { rc=$$?; [ $$rc -eq 5 ] || exit $$rc; }; \
	done

bench: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[bench]" || echo "femcell: pybamm not installable here; the PyBaMM column stays empty"
	$(VENV)/bin/femcell bench particle
	$(VENV)/bin/femcell bench cell

lint: $(STAMP)
	$(PY) -m pip install --quiet ruff && $(VENV)/bin/ruff check femcell tests

clean:
	rm -rf $(VENV) runs .pytest_cache

# The README's two commands: `make run` and `make test`. Both install first (a no-op when up to date).
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.install-stamp
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS ?= 1

.PHONY: install run test test-fast bench bench-full lock clean contact-sheet

install: $(STAMP)

# The lock pins every package, so pip installs exactly it without resolving (--no-deps):
# smote-variants' declared TensorFlow stays out, torch 2.14.1 comes from the local wheel cache.
$(STAMP): requirements.lock pyproject.toml setup.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

run: install
	$(PY) run.py

test: install
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not slow"

# ~25 min on 2 cores: oracle (~2 min), rebalancing (~3 min), sampling at budget 200 (~17 min).
# bench-full runs the sampling benchmark at the paper's budget I = 600 (over an hour).
bench: install
	$(PY) benchmarks/oracle.py
	$(PY) benchmarks/rebalancing.py
	$(PY) benchmarks/sampling.py --quick

bench-full: install
	$(PY) benchmarks/oracle.py
	$(PY) benchmarks/rebalancing.py
	$(PY) benchmarks/sampling.py

contact-sheet: install
	$(PY) -m distortion_reliability.reports.contact_sheet --dataset digits --out results/contact_sheet_digits.png

lock: install
	@echo "# Whole environment, pinned. Installed with 'pip install --no-deps -r requirements.lock' (see Makefile):" > requirements.lock.new
	@echo "# --no-deps keeps smote-variants from pulling TensorFlow, which only one of its 86 oversamplers uses." >> requirements.lock.new
	@echo "# Regenerate: make lock (after changing pyproject.toml dependencies in a scratch venv)." >> requirements.lock.new
	$(PY) -m pip freeze --all --exclude-editable | grep -vE "^(distortion|pip==)" >> requirements.lock.new
	mv requirements.lock.new requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache

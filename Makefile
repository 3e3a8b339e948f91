# The README's two commands: `make run` and `make test`. Both install first (a no-op when up to date).
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.install-stamp
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS ?= 1

.PHONY: install run test test-fast bench bench-full lock clean contact-sheet ui mlflow-server study report map

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

# Two test processes (pytest-xdist), each taking whole files: the real-SLURM and MLflow-server tests
# mostly wait, so the other worker's tests run meanwhile. TEST_WORKERS=0 runs them in this process.
TEST_WORKERS ?= 2
TEST_ARGS := -n $(TEST_WORKERS) --dist loadfile

test: install
	$(PY) -m pytest -q $(TEST_ARGS)

test-fast: install
	$(PY) -m pytest -q $(TEST_ARGS) -m "not slow"

# Every benchmark prints its headline figures last, one name=value per line; figures go to a scratch
# folder (never results/). bench-full adds sampling at I = 600 (3 seeds, ~40 min here) and the table3
# study benchmark (cold, warm, serial vs parallel; tens of minutes).
bench: install
	$(PY) benchmarks/oracle.py
	$(PY) benchmarks/rebalancing.py
	$(PY) benchmarks/gp_overhead.py
	$(PY) benchmarks/resilience.py
	$(PY) benchmarks/sampling.py --quick

bench-full: bench
	$(PY) benchmarks/sampling.py
	$(PY) benchmarks/study.py --dataset digits

contact-sheet: install
	$(PY) -m distortion_reliability.reporting.contact_sheet --dataset digits --out results/contact_sheet_digits.png

# The default MLflow store of every run: sqlite:///<repo>/mlflow.db, artifacts in <repo>/mlartifacts/
# (both gitignored: /mlflow.db, /mlflow.db-* (WAL, lock), /mlartifacts/).
MLFLOW_PORT ?= 5000
# The server listens on this host only unless told otherwise: anyone who reaches it can read and write
# runs unless MLFLOW_APP=basic-auth (MLflow's own users and passwords, conf/mlflow_auth.ini) is on.
MLFLOW_HOST ?= 127.0.0.1
MLFLOW_APP ?=
MLFLOW_STORE ?= $(CURDIR)/mlflow.db
MLFLOW_ARTIFACTS ?= $(CURDIR)/mlartifacts
MLFLOW_SERVER_ARGS ?=
export MLFLOW_AUTH_CONFIG_PATH ?= $(CURDIR)/conf/mlflow_auth.ini
# Host names the nodes use to reach the server (MLflow 3 rejects unknown Host headers): this host
# by its names, and the private address ranges. Override with e.g. MLFLOW_ALLOWED_HOSTS=mlflow.lab.org
MLFLOW_ALLOWED_HOSTS ?= $(shell hostname)*,$(shell hostname -f)*,localhost*,127.0.0.1*,10.*,192.168.*,172.*

# Browse and compare runs on http://127.0.0.1:$(MLFLOW_PORT) (local only).
ui: install
	MLFLOW_DISABLE_TELEMETRY=true $(PY) -m mlflow ui --backend-store-uri sqlite:///$(CURDIR)/mlflow.db \
	  --default-artifact-root $(CURDIR)/mlartifacts --host 127.0.0.1 --port $(MLFLOW_PORT)

# A tracking server for jobs on other nodes (SLURM), shared with a password (README, "Parallel and cluster"):
#   MLFLOW_AUTH_ADMIN_PASSWORD=... make mlflow-server MLFLOW_HOST=0.0.0.0 MLFLOW_APP=basic-auth
# then on the submit host: export MLFLOW_TRACKING_URI=http://<this host>:$(MLFLOW_PORT)
# MLFLOW_TRACKING_USERNAME=... MLFLOW_TRACKING_PASSWORD=... It serves the same store as `make ui`.
# (The auth app's CSRF key: MLFLOW_FLASK_SERVER_SECRET_KEY, a random one per start when unset.)
mlflow-server: install
	@$(if $(MLFLOW_APP),,$(if $(filter 127.0.0.1 localhost,$(MLFLOW_HOST)),,echo "warning: mlflow-server on $(MLFLOW_HOST) without MLFLOW_APP=basic-auth: anyone who reaches it can read and write runs" >&2))
	MLFLOW_FLASK_SERVER_SECRET_KEY="$${MLFLOW_FLASK_SERVER_SECRET_KEY:-$$($(PY) -c 'import secrets; print(secrets.token_hex(16))')}" \
	MLFLOW_DISABLE_TELEMETRY=true $(PY) -m mlflow server --backend-store-uri sqlite:///$(MLFLOW_STORE) \
	  --artifacts-destination $(MLFLOW_ARTIFACTS) --serve-artifacts \
	  --host $(MLFLOW_HOST) --port $(MLFLOW_PORT) --allowed-hosts "$(MLFLOW_ALLOWED_HOSTS)" \
	  $(if $(MLFLOW_APP),--app-name $(MLFLOW_APP)) $(MLFLOW_SERVER_ARGS)

# One paper study on one dataset with the joblib launcher: make study STUDY=table3 DATASET=mnist
STUDY ?= table3
DATASET ?= digits
study: install
	experiments/study.sh $(STUDY) $(DATASET)

# Tables, figures and runs CSV of a study from its MLflow runs: make report STUDY=table3 DATASET=digits
report: install
	$(PY) -m distortion_reliability.report study=$(STUDY) dataset=$(DATASET)

# The reliability map and profile of the dataset's model (oracle only): make map DATASET=digits
map: install
	$(PY) -m distortion_reliability.report map dataset=$(DATASET) out=results/$(DATASET)/map

lock: install
	@echo "# Whole environment, pinned. Installed with 'pip install --no-deps -r requirements.lock' (see Makefile):" > requirements.lock.new
	@echo "# --no-deps keeps smote-variants from pulling TensorFlow, which only one of its 86 oversamplers uses." >> requirements.lock.new
	@echo "# Regenerate: make lock (after changing pyproject.toml dependencies in a scratch venv)." >> requirements.lock.new
	$(PY) -m pip freeze --all --exclude-editable | grep -vE "^(distortion|pip==)" >> requirements.lock.new
	mv requirements.lock.new requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache

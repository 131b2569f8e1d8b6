# The two commands a newcomer needs: `make demo` and `make test`. Both create the virtual
# environment and install everything first, so they work in a clean clone.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint bench clean browser

$(STAMP): pyproject.toml requirements/torch.txt requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements/torch.txt
	$(PY) -m pip install -q -r requirements/dev.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/flopcount zoo:resnet50 --depth 2

# The HTML report's test opens it in headless Chromium (Debian's package).
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: $(STAMP) browser
	$(PY) -m pytest -n 2 -q

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) -m pip install -q -r requirements/bench.txt
	$(PY) benchmarks/analyze.py
	$(PY) benchmarks/bench_onnx.py
	$(PY) benchmarks/bench_tensorflow.py
	$(PY) benchmarks/conv.py
	$(PY) benchmarks/roofline_validation.py
	$(PY) benchmarks/symbolic.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis

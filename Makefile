# gbl's own Makefile (the project's, not the one `gbl init` writes for Go repositories).
PYTHON ?= python3

.PHONY: test sample bench clean

## test: install everything the tests need (Debian packages, Python deps, Go modules, a Docker
##       daemon when none answers), then run the whole suite.
test:
	bash .ci/setup
	$(PYTHON) -m pytest

## sample: install gbl and build sample_project into sample_project/dist/.
sample:
	$(PYTHON) -m pip install -q .
	gbl build -C sample_project

## bench: gbl against the Makefile baselines; writes docs/performance.md.
bench:
	$(PYTHON) bench/run.py --scenarios all --json bench/results/n50-all.json --write docs/performance.md

clean:
	rm -rf sample_project/dist sample_project/.gbl build *.egg-info .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

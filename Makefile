# The two commands of the README's quick start.
#   make up    - the main job: both products with demo data on embedded defaults
#   make test  - the whole test suite (checks included)
.PHONY: up test check bootstrap bench

bootstrap:
	scripts/bootstrap

up: bootstrap
	scripts/up

test:
	scripts/test

check: bootstrap
	scripts/check

bench: bootstrap
	.venv/bin/python packages/computenet/benchmarks/run.py
	.venv/bin/python packages/teaplatform/benchmarks/run.py

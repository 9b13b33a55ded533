# Every target creates .venv and installs the project (with pinned torch/PySide6) on first use.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test bench bundle screenshot clean

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --disable-pip-version-check -q -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

demo: $(STAMP)
	@sh packaging/check-xcb.sh $(VENV)/bin/python
	$(VENV)/bin/medfuse-gui --demo

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/python -m pytest

bench: $(STAMP)
	$(VENV)/bin/medfuse bench all

screenshot: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/medfuse-gui --demo-volume --method dilran --crosshair -38 -22 48 --size 1600x900 \
		--screenshot docs/screenshot.png

clean:
	rm -rf $(VENV) build dist *.egg-info

"""Operator and developer scripts. Run them as files (`.venv/bin/python scripts/NAME.py`); the
package exists so that their functions can be imported (``from scripts.preload_events import
preload``) once the repo is installed into .venv (`make bootstrap`)."""

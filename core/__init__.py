"""Tumor-board evidence dashboard: core library (never imports streamlit, except the launcher core/ui/serve.py)."""
import logging

logging.getLogger(__name__).addHandler(logging.NullHandler())

__version__ = "0.1.0"

"""The implementation of ``flowstone.testing``: jobs (``jobs.py``), assets (``assets.py``) and
the pytest plugin (``plugin.py``, loaded by pytest through the ``pytest11`` entry point)."""

"""Superset configuration for shopfunnel (read by Superset through SUPERSET_CONFIG_PATH).

Everything that differs per installation comes from the environment:

SUPERSET_SECRET_KEY
    Required: signs sessions and encrypts the stored connection settings. Generate one per
    installation (``python -c 'import secrets; print(secrets.token_urlsafe(42))'``).
SHOPFUNNEL_SUPERSET_HOME
    Folder of Superset's own metadata database (SQLite), default ``data/superset``.

The BI connection itself (the serving file, read-only) is provisioned by ``bi/provision.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

_home = Path(os.environ.get("SHOPFUNNEL_SUPERSET_HOME", "data/superset")).absolute()
_home.mkdir(parents=True, exist_ok=True)

SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]
SQLALCHEMY_DATABASE_URI = f"sqlite:///{_home / 'superset.db'}?check_same_thread=false"
DATA_DIR = str(_home)

# No example data, no outside calls (fonts, maps, telemetry): the machine may be offline.
SUPERSET_LOAD_EXAMPLES = False
MAPBOX_API_KEY = ""
SCARF_ANALYTICS = False
FEATURE_FLAGS = {"ALERT_REPORTS": False}

# A local single-process server: no Redis, no Celery; results are not cached, so every
# chart reads the serving file as it is now.
CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
RATELIMIT_STORAGE_URI = "memory://"
# served over plain http on 127.0.0.1 only
TALISMAN_ENABLED = False
WTF_CSRF_ENABLED = True

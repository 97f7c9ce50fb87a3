"""Extension singletons, bound to an app in ``create_app`` through ``init_app``."""

from __future__ import annotations

from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    # Stable constraint names, so Alembic can alter and drop them on every backend.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


# Objects stay readable after a commit without a reload: a request commits, then renders what it
# changed, and reloading every attribute would cost a query each time.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
# The key is the client address as Flask sees it: behind a proxy, configure PROXY_FIX_X_FOR so that
# werkzeug's ProxyFix puts the real client address there (see the README).
limiter = Limiter(key_func=get_remote_address)
# gzip, Brotli or zstd for every text answer the browser accepts it for (pages, CSS, SVG, JSON).
compress = Compress()

"""Every table of every domain package, gathered so Alembic sees the whole schema.

Each domain package keeps its own migration branch (``branch_labels``) under
``gateway/migrations/versions``; ``gateway.db.upgrade`` applies all heads.
"""

from gateway.db import Base

# Domain model modules register their tables on Base.metadata when imported.
# One line per domain package:

metadata = Base.metadata

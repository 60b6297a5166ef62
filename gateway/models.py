"""Every table of every domain package, gathered so Alembic sees the whole schema.

The migrations of every package form one linear history under ``gateway/migrations/versions``
(each new one revises the newest); ``gateway.db.upgrade`` applies it.
"""

# Each import registers that package's tables on Base.metadata; the names themselves go unused.
from audit import models as audit_models  # noqa: F401 -- entries, tree nodes, checkpoints, keys
from gateway.auth import models as auth_models  # noqa: F401 -- OAuth clients, spent assertions
from gateway.cases import models as cases_models  # noqa: F401 -- cases, subjects, interventions
from gateway.db import Base
from gateway.delivery import messages as delivery_messages  # noqa: F401 -- inbox messages
from gateway.delivery import models as delivery_models  # noqa: F401 -- deliveries
from gateway.exchange import models as exchange_models  # noqa: F401 -- exchanges
from gateway.identity import models as identity_models  # noqa: F401 -- the encrypted subject vault
from gateway.linkage import models as linkage_models  # noqa: F401 -- Bloom filters, candidates
from gateway.meetings import models as meetings_models  # noqa: F401 -- meetings, agenda items
from gateway.outbox import models as outbox_models  # noqa: F401 -- outbox, dispatches, channels
from gateway.policy import models as policy_models  # noqa: F401 -- covenant publications
from gateway.rights import models as rights_models  # noqa: F401 -- subject rights requests
from gateway.workspace import models as workspace_models  # noqa: F401 -- people, sessions

metadata = Base.metadata

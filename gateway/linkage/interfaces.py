"""What the linkage package promises its callers: candidate statuses and decisions."""

from __future__ import annotations

PENDING = "pending"
CONFIRMED = "confirmed"
REJECTED = "rejected"
#: What a reviewer may decide about a pending candidate.
DECISIONS = (CONFIRMED, REJECTED)
STATUSES = (PENDING, *DECISIONS)
#: The covenant party role whose partners review candidates: the regional coordinator (RIEC).
REVIEWER_ROLE = "regie"

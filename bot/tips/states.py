"""What a tip can be: its statuses and categories, and their labels, defined once.

Labels are English message ids (`N_`): the panel translates them into the staff member's
language, the bot into the resident's.
"""

from __future__ import annotations

from bot.i18n import N_

__all__ = [
    "CATEGORIES",
    "CATEGORY_LABELS",
    "CLOSED",
    "RESIDENT_STATUS_LABELS",
    "STATUSES",
    "STATUS_LABELS",
]

#: Mới → Đã tiếp nhận → Đang xác minh → one of the closed outcomes.
STATUSES = ("new", "accepted", "verifying", "transferred", "resolved", "insufficient", "false")
CLOSED = frozenset({"transferred", "resolved", "insufficient", "false"})

#: As officers read them.
STATUS_LABELS = {
    "new": N_("New"),
    "accepted": N_("Taken up"),
    "verifying": N_("Being verified"),
    "transferred": N_("Passed to another unit"),
    "resolved": N_("Dealt with"),
    "insufficient": N_("Not enough grounds"),
    "false": N_("Found to be false"),
}
#: As the tipster reads them when following a report up.
RESIDENT_STATUS_LABELS = {
    **STATUS_LABELS,
    "new": N_("New (not yet taken up)"),
}

#: Tip categories, in the order residents see them.
CATEGORIES = (
    "drugs",
    "theft",
    "gambling",
    "loan_shark",
    "online_fraud",
    "weapons",
    "violence",
    "public_order",
    "other",
)
CATEGORY_LABELS = {
    "drugs": N_("Drugs"),
    "theft": N_("Theft, robbery"),
    "gambling": N_("Gambling"),
    "loan_shark": N_("Loan sharks (tín dụng đen)"),
    "online_fraud": N_("Online or phone fraud"),
    "weapons": N_("Weapons, explosives"),
    "violence": N_("Violence, abuse"),
    "public_order": N_("Public disorder"),
    "other": N_("Something else"),
}

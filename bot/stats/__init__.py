"""Engagement and tip statistics: daily figures rolled up from events, message counters,
the dashboard's queries and the privacy rule that masks small tip counts."""

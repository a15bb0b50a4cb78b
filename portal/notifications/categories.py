"""The kinds of notification; a user can turn e-mail off per category."""

from django.db import models


class NotificationCategory(models.TextChoices):
    """What a notification is about. Values are stored; labels are shown on the profile."""

    REQUEST_PENDING = "request_pending", "New asks waiting for approval"
    REQUEST_DECIDED = "request_decided", "Decisions on my asks"
    JOB_FINISHED = "job_finished", "My builds finished or failed"
    LEASE = "lease", "Lease reminders and expiry"
    QUOTA_CHANGE = "quota_change", "Quota-change decisions"
    TEAM_MEMBERSHIP = "team_membership", "Changes to my team memberships"
